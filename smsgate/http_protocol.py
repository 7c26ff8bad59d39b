"""uvicorn's httptools protocol, sending what one turn of the event loop writes as one send,
and closing connections that do not send a request head in time.

uvicorn writes a response's head and its body with two calls of `transport.write`, and each is
a send(2): two TCP segments, two wake-ups of the client. A JSON answer is written in one task
step, so holding writes until the end of the loop's turn sends head and body together.

uvicorn times out only the idle wait between keep-alive requests, and only until a first byte
arrives: a connection that never sends, or sends part of a head and stops, is held forever (a
client holding 15,000 of them ran a worker towards its descriptor limit). Here a connection
must complete each request head within `header_timeout` seconds, counted from the connection's
start for the first request, and from the first byte of each later one (the wait before that
byte is the keep-alive timeout's). A connection that misses it is closed, with a 408 answer if
part of a head had arrived.

uvicorn also makes a keep-alive timer (a TimerHandle, a libuv timer started and stopped) after
every response, and cancels it at the next request's first bytes: under load a timer per request
that never fires. Here a connection keeps one timer that notes when it went idle; when it fires
it closes a connection idle for the whole timeout, or waits out the rest of it.

A request's scope also carries the ASGI extension `smsgate.answer`: a call that writes a whole
answer (its status, its head's own lines, its body) as uvicorn's two sends of
`http.response.start` and `http.response.body` would write it, byte for byte, without the
checks they make of every header (the caller's lines are its own, made safe): a native single
send's answer went through about 40 lines of uvicorn's Python for two sends
(dialects/asgi.py, `respond_json`).
"""

from __future__ import annotations

import asyncio
from types import MappingProxyType
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

ANSWER = "smsgate.answer"  # the scope's extension: {"answer": answer(send, status, head, body)}


class CoalescingTransport:
    """A transport whose writes within one turn of the loop leave as one write."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():  # the peer went away: nothing can be sent
            self._transport.write(data)

    def close(self) -> None:
        self._flush()  # a response written just before close still goes out, then the FIN
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_TIMED_OUT = b"request head not received in time"


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """The protocol smsgate serves with. uvicorn builds it from a class: `configured` gives
    the class with the server's timeouts."""

    header_timeout: ClassVar[float] = 10.0
    keep_alive_timeout: ClassVar[float] = 30.0

    @classmethod
    def configured(
        cls, *, header_timeout: float, keep_alive_timeout: float
    ) -> type[CoalescingHttpToolsProtocol]:
        attrs = {"header_timeout": header_timeout, "keep_alive_timeout": keep_alive_timeout}
        return type(cls.__name__, (cls,), attrs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.keep_alive_timeout  # type: ignore[assignment]
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False  # bytes of a request head arrived, its end not yet
        self._keep_alive_timer: asyncio.TimerHandle | None = None
        self._idle_since: float | None = None  # the loop's time of the last answer, until data

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._keep_alive_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._keep_alive_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._idle_since = None  # the keep-alive wait ends at the first byte
        super().data_received(data)  # parses
        if self._head_timer is None and not self.transport.is_closing():
            # Part of a head, or bytes that began none (blank lines) on an idle connection:
            # either way the clock runs until a head is complete.
            idle = self.cycle is not None and self.cycle.response_complete
            if self._in_head or (idle and self.timeout_keep_alive_task is None):
                self._arm_head_timer()

    def on_response_complete(self) -> None:
        """uvicorn's, but with the connection's one keep-alive timer (see the module)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self._keep_alive_timer is None:
            self._keep_alive_timer = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_due
            )

    def _keep_alive_due(self) -> None:
        self._keep_alive_timer = None
        if self._idle_since is None or self.transport.is_closing():
            return  # serving, or reading a head: the next answer starts the clock again
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:  # answered again since the timer was set: idle for less than the timeout
            self._keep_alive_timer = self.loop.call_later(left, self._keep_alive_due)
            return
        self.timeout_keep_alive_handler()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = _EXTENSIONS  # type: ignore[typeddict-item]  # read-only
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A response is still being made (a later head may wait unread behind it, reading
            # being paused for pipelining): the head's time counts once the server is free.
            self._arm_head_timer()
            return
        if self._in_head:
            self._answer_408()
        self.transport.close()

    def _answer_408(self) -> None:
        head = [STATUS_LINE[408]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % len(_TIMED_OUT)
        )
        self.transport.write(b"".join(head) + _TIMED_OUT)


def answer(send: Any, status: int, head: bytes, body: bytes) -> bool:
    """Write a whole answer in one call: the bytes the request's ASGI `send` writes for a
    start message whose headers are `head` (lower-case lines, each ending with CRLF, with
    content-length; nothing a client sent unchecked) and one final body message; the
    connection then goes on as after those sends. False, having written nothing, where the
    two sends must be made: `send` is not uvicorn's own (wrapped by a middleware), an answer
    started already, writing paused, a HEAD request, uvicorn's access log.

    The cycle is found through `send`, so the scope holds no reference to it: a cycle of
    references per request would leave every request's objects to the garbage collector."""
    cycle = getattr(send, "__self__", None)
    if (
        getattr(send, "__func__", None) is not _SEND
        or not isinstance(cycle, RequestResponseCycle)
        or cycle.response_started
        or cycle.disconnected
        or cycle.flow.write_paused
        or cycle.access_log
        or cycle.scope["method"] == "HEAD"
    ):
        return False
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    content = [STATUS_LINE[status]]
    for name, value in cycle.default_headers:
        content += [name.lower(), b": ", value, b"\r\n"]
    content.append(head)
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content += [b"\r\n", body]
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
    return True


_SEND = RequestResponseCycle.send
# Every request's scope holds this one read-only mapping: nothing of the request in it
_EXTENSIONS = MappingProxyType({ANSWER: MappingProxyType({"answer": answer})})
