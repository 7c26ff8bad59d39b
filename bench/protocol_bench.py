"""CPU per request of smsgate's HTTP protocol alone (smsgate/http_protocol.py over uvicorn's
httptools protocol), in one process: no sockets, no kernel, no store.

    python -m bench.protocol_bench [--requests 200000] [--connections 64]

Each of `connections` keep-alive connections sends a native single send's request as soon as
its previous answer is written, to an app that answers a small JSON body at once; the loop is
uvloop's. The figure moves with the protocol's own Python (parsing callbacks, the ASGI cycle,
timers, the coalescing transport) and much less with a busy machine than a wrk run does: run it
alternately against a base checkout to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.server import ServerState

from smsgate.http_protocol import CoalescingHttpToolsProtocol

BODY = b'{"to":"+79650000001","text":"Your code is 1","from":"Test"}'
REQUEST = (
    b"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
    b"Content-Type: application/json\r\nAuthorization: Bearer bench-token\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)
ANSWER = b'{"id":"0192f0c4-5e6a-7000-8000-000000000000","status":"queued"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 201, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


class Transport(asyncio.Transport):
    """A socket's side: each write that ends an answer sends the connection's next request."""

    def __init__(self, answered: Any) -> None:
        super().__init__()
        self.answered = answered
        self.closing = False

    def write(self, data: Any) -> None:
        if bytes(data).endswith(ANSWER):
            self.answered()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def measure(requests: int, connections: int) -> float:
    """CPU seconds per request over `requests` requests."""
    loop = asyncio.get_running_loop()
    config = Config(app, proxy_headers=False, access_log=False, log_level="warning")
    config.load()
    state = ServerState()
    left = [requests]
    finished: asyncio.Future[None] = loop.create_future()

    def connection() -> CoalescingHttpToolsProtocol:
        protocol = CoalescingHttpToolsProtocol(
            config=config, server_state=state, app_state={}, _loop=loop
        )

        def answered() -> None:
            left[0] -= 1
            if left[0] > 0:
                loop.call_soon(protocol.data_received, REQUEST)
            elif not finished.done():
                finished.set_result(None)

        protocol.connection_made(Transport(answered))
        return protocol

    protocols = [connection() for _ in range(connections)]
    started = time.process_time()
    for protocol in protocols:
        protocol.data_received(REQUEST)
    await finished
    used = time.process_time() - started
    for protocol in protocols:
        protocol.connection_lost(None)
    return used / requests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        per_request = runner.run(measure(args.requests, args.connections))
    print(f"CPU per request: {per_request * 1e6:.2f} us")


if __name__ == "__main__":
    main()
