"""The shared Session: batched writes, window, response timeouts, link loss; SMPP time strings."""

from __future__ import annotations

import asyncio
import calendar
from typing import ClassVar

import pytest

from smsgate.smpp.pdu import EnquireLink, Pdu, SubmitSm
from smsgate.smpp.session import ResponseTimeout, Session, SessionClosed
from smsgate.smpp.times import format_time, parse_time


class _CountingTransport:
    """Forwards to the real transport, counting writes (uvloop's write cannot be patched)."""

    def __init__(self, inner: asyncio.BaseTransport) -> None:
        self._inner = inner

    def write(self, data: bytes) -> None:
        Counting.writes += 1
        self._inner.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class Counting(Session):
    """Answers enquire_link; holds submit_sm unanswered; counts transport writes."""

    writes = 0
    instances: ClassVar[list[Counting]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_CountingTransport(transport))  # type: ignore[arg-type]
        Counting.instances.append(self)

    def handle_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, SubmitSm):
            return None
        return super().handle_request(pdu)


async def pair(**client: object) -> tuple[Session, asyncio.Server]:
    loop = asyncio.get_running_loop()
    Counting.writes = 0
    Counting.instances = []
    server = await loop.create_server(lambda: Counting(enquire_link=0), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, session = await loop.create_connection(
        lambda: Session(enquire_link=0, **client),  # type: ignore[arg-type]
        "127.0.0.1",
        port,
    )
    return session, server


async def test_replies_of_one_read_leave_in_one_write() -> None:
    session, server = await pair(window=100)
    futures = [session.send_request(EnquireLink()) for _ in range(50)]  # one write (one tick)
    answers = await asyncio.gather(*futures)
    assert all(a.command_status == 0 for a in answers)
    assert Counting.writes <= 2  # usually 1; a read may split in two
    session.close()
    server.close()


async def test_window_and_response_timeout() -> None:
    session, server = await pair(window=2, response_timeout=0.3)
    first = session.send_request(SubmitSm(destination_addr="1"))
    second = session.send_request(SubmitSm(destination_addr="2"))
    assert not session.window_free
    waiting = asyncio.ensure_future(session.acquire_slot())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    with pytest.raises(ResponseTimeout):
        await first
    with pytest.raises(ResponseTimeout):
        await second
    await asyncio.wait_for(waiting, 1)  # a slot came free when the requests timed out
    session.close()
    server.close()


async def test_link_loss_fails_what_is_outstanding() -> None:
    session, server = await pair(window=10)
    pending = session.send_request(SubmitSm(destination_addr="1"))
    await asyncio.sleep(0.05)
    for peer in Counting.instances:
        peer.abort()
    with pytest.raises(SessionClosed):
        await pending
    await asyncio.wait_for(session.closed, 1)
    with pytest.raises(SessionClosed):
        await session.send_request(EnquireLink())
    server.close()


def test_smpp_times() -> None:
    now = 1_700_000_000.0
    assert parse_time("", now) is None
    utc = calendar.timegm((2024, 3, 1, 12, 30, 0, 0, 0, 0))
    assert parse_time("240301123000000+", now) == utc
    assert parse_time("240301153000012+", now) == utc  # +3 h (12 quarter hours)
    assert parse_time("000001020000000R", now) == now + 86400 + 7200
    assert parse_time(format_time(utc), now) == utc
    for bad in ("2403011230", "240399123000000+", "24030112300000x+"):
        with pytest.raises(ValueError):
            parse_time(bad, now)
