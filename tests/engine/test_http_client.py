"""The callbacks' HTTP client against raw asyncio servers that answer exactly what a test needs."""

from __future__ import annotations

import asyncio
import base64
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from smsgate.core.urls import parse_networks
from smsgate.engine.callbacks import CallbackRequest
from smsgate.engine.notifier import HttpSender
from smsgate.net.http_client import HttpClient, ServerDisconnected

Answer = Callable[[bytes, "Raw"], None]
LOOPBACK = parse_networks(["127.0.0.0/8", "::1"])


class Raw(asyncio.Protocol):
    """Reads one request at a time (headers and Content-Length body); `answer` replies."""

    def __init__(
        self, answer: Answer, seen: list[bytes], peers: set[object], reads: list[int] | None = None
    ) -> None:
        self.answer = answer
        self.seen = seen
        self.peers = peers
        self.reads = [] if reads is None else reads  # requests begun in each read
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peers.add(transport.get_extra_info("peername"))

    def data_received(self, data: bytes) -> None:
        self.reads.append(data.count(b" HTTP/1.1\r\n"))
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            end = self.buf.index(b"\r\n\r\n") + 4
            length = 0
            for line in self.buf[:end].split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(self.buf) < end + length:
                return
            request, self.buf = self.buf[: end + length], self.buf[end + length :]
            self.seen.append(request)
            self.answer(request, self)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"


class Server:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.seen: list[bytes] = []
        self.peers: set[object] = set()
        self.reads: list[int] = []
        self.url = ""

    async def __aenter__(self) -> Server:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: Raw(self.answer, self.seen, self.peers, self.reads), "127.0.0.1", 0
        )
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def reply(data: bytes, close: bool = False) -> Answer:
    def answer(request: bytes, proto: Raw) -> None:
        assert proto.transport is not None
        proto.transport.write(data)
        if close:
            proto.transport.close()

    return answer


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = HttpClient(max_body=16, allowed=LOOPBACK)  # its servers listen on 127.0.0.1
    yield c
    await c.close()


async def test_keep_alive_reuses_one_connection(client: HttpClient) -> None:
    async with Server(reply(OK)) as server:
        for i in range(5):
            status, body = await client.request("POST", server.url + f"/cb?n={i}", {}, b"{}")
            assert (status, body) == (200, b"OK")
        assert len(server.peers) == 1
        first = server.seen[0]
        assert first.startswith(b"POST /cb?n=0 HTTP/1.1\r\n")
        assert b"Content-Length: 2\r\n" in first and first.endswith(b"\r\n\r\n{}")


async def test_connection_close_is_honoured(client: HttpClient) -> None:
    answer = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    async with Server(reply(answer, close=True)) as server:
        for _ in range(3):
            assert await client.request("POST", server.url, {}, b"x") == (204, b"")
        assert len(server.peers) == 3


async def test_body_without_length_ends_with_the_connection(client: HttpClient) -> None:
    async with Server(reply(b"HTTP/1.0 200 OK\r\n\r\naccepted", close=True)) as server:
        assert await client.request("GET", server.url + "/x?a=1", {}, b"") == (200, b"accepted")
        assert server.seen[0].startswith(b"GET /x?a=1 HTTP/1.1\r\n")
        assert b"Content-Length" not in server.seen[0]


async def test_chunked_body_and_bound_on_its_size(client: HttpClient) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    big = b"HTTP/1.1 500 Oops\r\nContent-Length: 40\r\n\r\n" + b"e" * 40
    async with Server(reply(chunked)) as server:
        assert await client.request("POST", server.url, {}, b"") == (200, b"hello")
    async with Server(reply(big)) as server:
        assert await client.request("POST", server.url, {}, b"") == (500, b"e" * 16)


async def test_cut_answer_is_an_error(client: HttpClient) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOK"
    async with Server(reply(cut, close=True)) as server:
        with pytest.raises(ServerDisconnected):
            await client.request("POST", server.url, {}, b"")


async def test_idle_connection_closed_by_the_server_is_replaced(client: HttpClient) -> None:
    """The server closes a kept-alive connection after its first answer, without saying so."""
    answered: list[int] = []

    def once_then_close(request: bytes, proto: Raw) -> None:
        assert proto.transport is not None
        proto.transport.write(OK)
        answered.append(1)
        asyncio.get_running_loop().call_later(0.01, proto.transport.close)

    async with Server(once_then_close) as server:
        assert await client.request("POST", server.url, {}, b"1") == (200, b"OK")
        await asyncio.sleep(0.05)
        assert await client.request("POST", server.url, {}, b"2") == (200, b"OK")
        assert len(server.peers) == 2 and len(answered) == 2


async def test_silent_server_is_never_asked_twice(client: HttpClient) -> None:
    """A connection that dies after the server began answering is an error, not a resend."""

    def half(request: bytes, proto: Raw) -> None:
        assert proto.transport is not None
        proto.transport.write(b"HTTP/1.1 200")
        proto.transport.close()

    async with Server(half) as server:
        with pytest.raises(ServerDisconnected):
            await client.request("POST", server.url, {}, b"")
        assert len(server.seen) == 1


async def test_headers_and_basic_auth_from_the_url(client: HttpClient) -> None:
    async with Server(reply(OK)) as server:
        url = server.url.replace("http://", "http://user:pa%20ss@") + "/p"
        await client.request("POST", url, {"Content-Type": "application/json", "X-Id": "e1"}, b"")
        head = server.seen[0].decode()
        token = base64.b64encode(b"user:pa ss").decode()
        assert f"Authorization: Basic {token}\r\n" in head
        assert "Content-Type: application/json\r\n" in head and "X-Id: e1\r\n" in head
        assert f"Host: {server.url.removeprefix('http://')}\r\n" in head


async def test_heads_made_from_one_template_carry_each_requests_values(
    client: HttpClient,
) -> None:
    """A head is filled in from a template kept per URL and header names: percent signs in
    the path, the credentials or a value stay as given, a Content-Length given is replaced
    by the body's, and a second request to the same URL carries its own values."""
    async with Server(reply(OK)) as server:
        url = server.url.replace("http://", "http://u%25:p@") + "/a%2Fb?q=%25s"
        for i, body in enumerate((b"one", b"second")):
            headers = {"Content-Length": "1", "X-Id": f"e%d-{i}", "Content-Type": "text/x"}
            await client.request("POST", url, headers, body)
        first, second = (raw.decode() for raw in server.seen)
        assert first.startswith("POST /a%2Fb?q=%25s HTTP/1.1\r\n")
        assert f"Authorization: Basic {base64.b64encode(b'u%:p').decode()}\r\n" in first
        assert "X-Id: e%d-0\r\n" in first and "X-Id: e%d-1\r\n" in second
        assert first.count("Content-Length") == 1 and "Content-Length: 3\r\n" in first
        assert "Content-Length: 6\r\n" in second and second.endswith("\r\n\r\nsecond")
        assert "Content-Type: text/x\r\n" in first and "octet-stream" not in first


async def test_sender_times_out_and_drops_the_connection() -> None:
    sender = HttpSender(timeout=0.2, allowed=LOOPBACK)
    try:
        async with Server(lambda request, proto: None) as server:
            with pytest.raises(TimeoutError):
                await sender(CallbackRequest(url=server.url, body=b"{}"))
            # the late connection is not reused: a new request opens a new one
            server.answer = reply(OK)
            assert await sender(CallbackRequest(url=server.url, body=b"{}")) == (200, b"OK")
            assert len(server.peers) == 2
    finally:
        await sender.close()


async def test_refused_connection_raises_os_error(client: HttpClient) -> None:
    async with Server(reply(OK)) as server:
        url = server.url
    with pytest.raises(OSError):
        await client.request("POST", url, {}, b"")


async def test_https_with_the_servers_certificate_checked(
    client: HttpClient, tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    seen: list[bytes] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Raw(reply(OK), seen, set()), "127.0.0.1", 0, ssl=served
    )
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/tls"
    try:
        with pytest.raises(ssl.SSLError):  # not a certificate the system trusts
            await client.request("POST", url, {}, b"x")
        client._ssl = ssl.create_default_context(cafile=str(cert))
        assert await client.request("POST", url, {}, b"x") == (200, b"OK")
        assert seen[-1].startswith(b"POST /tls HTTP/1.1\r\n")
    finally:
        server.close()


async def test_connections_idle_too_long_are_closed(client: HttpClient) -> None:
    async with Server(reply(OK)) as server:
        await asyncio.gather(*(client.request("POST", server.url, {}, b"") for _ in range(3)))
        assert len(server.peers) == 3  # three at once: three connections, now idle
        [idle] = client._idle.values()
        old = list(idle)[:2]
        for conn in old:  # unused for a long time; the newest was used just now
            conn.idle_since -= 3600
        await client.request("POST", server.url, {}, b"")
        assert len(server.peers) == 3  # the newest was reused
        assert list(idle) == [c for c in idle if c not in old] and len(idle) == 1
        assert all(c.transport is not None and c.transport.is_closing() for c in old)


async def test_no_header_can_carry_a_line_break(client: HttpClient) -> None:
    async with Server(reply(OK)) as server:
        for headers in ({"X-Id": "1\r\nX-Forged: yes"}, {"X-Id\n": "1"}):
            with pytest.raises(ValueError):
                await client.request("POST", server.url, headers, b"")
        assert server.seen == []


# Pipelining (the notifier's HttpSender) -------------------------------------------------------


def echo(request: bytes, proto: Raw) -> None:
    """200 with the request's body: answers show which request they were for."""
    assert proto.transport is not None
    body = request.split(b"\r\n\r\n", 1)[1]
    proto.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
async def piped() -> AsyncIterator[HttpClient]:
    c = HttpClient(allowed=LOOPBACK, pipeline=True)
    yield c
    await c.close()


async def batch(client: HttpClient, url: str, n: int, first: int = 0) -> list[bytes]:
    """n requests made in one turn of the loop; their answers' bodies, in order."""
    answers = await asyncio.gather(
        *(client.request("POST", url, {}, b"%d" % i) for i in range(first, first + n))
    )
    assert all(status == 200 for status, _ in answers)
    return [body for _, body in answers]


async def test_one_turns_requests_share_a_connection_answered_in_order(
    piped: HttpClient,
) -> None:
    async with Server(echo) as server:
        assert await batch(piped, server.url, 1) == [b"0"]  # a kept connection to start with
        expected = [b"%d" % i for i in range(1, 11)]
        assert await batch(piped, server.url, 10, first=1) == expected
        assert len(server.peers) == 1 and server.reads == [1, 10]  # one connection, one write


async def test_without_pipelining_each_request_has_its_connection(client: HttpClient) -> None:
    async with Server(echo) as server:
        assert await batch(client, server.url, 4) == [b"0", b"1", b"2", b"3"]
        assert len(server.peers) == 4


async def test_requests_dropped_behind_a_closing_answer_are_sent_again(
    piped: HttpClient,
) -> None:
    """A server that closes a connection after its second answer, dropping what was pipelined
    behind it: those go again on new connections, and the origin gets one request per
    connection for a while."""
    answered: dict[Raw, int] = {}

    def second_then_close(request: bytes, proto: Raw) -> None:
        assert proto.transport is not None
        if not proto.transport.is_closing():
            echo(request, proto)
            answered[proto] = answered.get(proto, 0) + 1
            if answered[proto] == 2:
                proto.transport.close()

    async with Server(second_then_close) as server:
        assert await batch(piped, server.url, 1) == [b"0"]
        assert await batch(piped, server.url, 5, first=1) == [b"1", b"2", b"3", b"4", b"5"]
        assert len(server.peers) == 1 + 4 and len(server.seen) == 1 + 5 + 4  # 4 sent twice
        server.reads.clear()
        assert await batch(piped, server.url, 3, first=6) == [b"6", b"7", b"8"]
        assert server.reads == [1, 1, 1]  # on kept connections, one each: not pipelined


async def test_connection_close_answers_pause_pipelining(piped: HttpClient) -> None:
    """The first answer on a kept connection says it closes: the requests behind it go again
    on new connections (it answers each so), and later ones are not pipelined."""
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"
    keep = True

    def once_kept(request: bytes, proto: Raw) -> None:
        assert proto.transport is not None
        if not proto.transport.is_closing():
            proto.transport.write(OK if keep else close)

    async with Server(once_kept) as server:
        assert await batch(piped, server.url, 1) == [b"OK"]
        keep = False
        assert await batch(piped, server.url, 4) == [b"OK"] * 4
        assert len(server.peers) == 1 + 3 and len(server.seen) == 1 + 4 + 3
        server.reads.clear()
        assert await batch(piped, server.url, 3) == [b"OK"] * 3
        assert server.reads == [1, 1, 1]


async def test_a_server_slow_through_pipelined_requests_gets_them_in_parallel(
    piped: HttpClient,
) -> None:
    """A server that works through pipelined requests one at a time, 50 ms each: a
    connection each from then on (a late timer on a busy machine may bring two answers
    together; most gaps are still slow)."""
    loop = asyncio.get_running_loop()
    queued: list[tuple[bytes, Raw]] = []

    def next_answer() -> None:
        request, proto = queued.pop(0)
        echo(request, proto)
        if queued:
            loop.call_later(0.05, next_answer)

    def serially(request: bytes, proto: Raw) -> None:
        queued.append((request, proto))
        if len(queued) == 1:
            loop.call_later(0.05, next_answer)

    async with Server(serially) as server:
        assert await batch(piped, server.url, 1) == [b"0"]
        assert await batch(piped, server.url, 8, first=1) == [b"%d" % i for i in range(1, 9)]
        assert len(server.peers) == 1
        server.reads.clear()
        assert await batch(piped, server.url, 4, first=9) == [b"9", b"10", b"11", b"12"]
        assert server.reads.count(1) == 4  # one request a connection: the kept one, 3 new


async def test_requests_behind_one_timed_out_are_sent_again() -> None:
    """The first of a pipelined batch is never answered: it times out; the others, answered
    on a new connection, do not wait for its fate beyond their own deadline."""
    client = HttpClient(allowed=LOOPBACK, pipeline=True, timeout=0.3)
    try:

        def not_the_first(request: bytes, proto: Raw) -> None:
            if not request.endswith(b"\r\n\r\n0"):
                echo(request, proto)

        async with Server(not_the_first) as server:
            results = await asyncio.gather(
                *(client.request("POST", server.url, {}, b"%d" % i) for i in range(3)),
                return_exceptions=True,
            )
            assert isinstance(results[0], TimeoutError)
            assert results[1:] == [(200, b"1"), (200, b"2")]
    finally:
        await client.close()
