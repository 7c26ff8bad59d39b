"""Where a native single send's CPU goes: the whole app in one process, stage by stage.

    python -m bench.accept_stages [--requests 30000] [--connections 64] [--stages]

The real application (`build_app`, no engine) on a fresh SQLite file, driven through smsgate's
HTTP protocol by `--connections` keep-alive connections without sockets (as
bench/protocol_bench.py): each sends its next request as soon as its answer is written. The
messages are scheduled an hour ahead, as http_bench's `accept` mode. Prints the process's CPU
per request (every thread: the writer's flush included), which moves much less with a busy
machine than a wrk run. The connections bound a group commit's size: two workers under
http_bench's c=64 commit groups of about 15.

`--stages` also runs the route cut short after each stage, answering a fixed body of the same
size: what each stage adds is the difference to the line before. `protocol` is the HTTP
protocol, app.ErrorGuard and the body read; then `auth` (the Bearer token and the account),
`decode` (the JSON and the Submission), `build` (core.validate.build_message), `render` (the
answer's body), and `full`: the real route, whose difference to `render` is the durable accept
(gateway.submit: the group commit, the flush and the answer's wait for it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from uvicorn.config import Config as UvicornConfig
from uvicorn.lifespan.on import LifespanOn
from uvicorn.server import ServerState

from bench.common import BENCH_ACCOUNTS, ROOT
from smsgate.app import build_app
from smsgate.config import Config
from smsgate.core.validate import build_message
from smsgate.dialects import asgi
from smsgate.dialects.endpoint import raw_endpoint
from smsgate.dialects.native import parse
from smsgate.dialects.native.auth import DIALECT, account_for
from smsgate.dialects.native.render import dump, message_out
from smsgate.dialects.native.routes import REFUSALS
from smsgate.engine.gateway import Gateway
from smsgate.server import _freeze_heap, http_protocol

STAGES = ("protocol", "auth", "decode", "build", "render", "full")
# What the cut-short route answers: a body of the size of the real one
FIXED = dump({"id": "0" * 36, "to": "+79650000000", "text": "x" * 200, "status": "scheduled"})


def request(n: int, schedule_at: int) -> bytes:
    """bench/post.lua's request: a phone and a text that vary, so nothing is deduplicated."""
    body = b'{"to":"+7965%07d","text":"Your code is %d","from":"Test","schedule_at":%d}' % (
        n % 10_000_000,
        n % 10_000,
        schedule_at,
    )
    return (
        b"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"Content-Type: application/json\r\nAuthorization: Bearer bench-token\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


async def cut_short(stage: int, gateway: Gateway, scope: Any, receive: Any, send: Any) -> None:
    """The native send route, stopped after STAGES[stage], answering FIXED (`render`: its own
    body)."""
    body = await asgi.read_body(scope, receive, 1 << 20)
    if stage >= STAGES.index("auth"):
        authorization = asgi.header(scope, b"authorization") or b""
        account = await account_for(gateway, authorization.decode("latin-1"), "127.0.0.1")
    if stage >= STAGES.index("decode"):
        item = parse.one(parse.decode(parse.send_decoder, body))
    if stage >= STAGES.index("build"):
        message = build_message(account, DIALECT, item, time.time(), gateway.limits)
    answer = dump(message_out(message)) if stage >= STAGES.index("render") else FIXED
    await asgi.respond_json(send, 201, answer)


class Transport:
    """A socket's side: a write that holds an answer's body counts as the answer."""

    def __init__(self, answered: Callable[[bytes], None]) -> None:
        self.answered = answered
        self.closing = False

    def write(self, data: bytes) -> None:
        if b"\r\n\r\n{" in data:
            self.answered(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        peers = {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}
        return peers.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def new_database(tmp: Path) -> str:
    db = f"sqlite:///{tmp}/bench.db"
    (tmp / "accounts.json").write_text(json.dumps(BENCH_ACCOUNTS))
    for command in (["init"], ["account", "import", str(tmp / "accounts.json")]):
        subprocess.run(
            [sys.executable, "-m", "smsgate.cli", "--database", db, *command],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return db


async def drive(app: Any, config: Config, requests: int, connections: int) -> float:
    """CPU seconds per request of `requests` single sends, after a fifth as many to warm up."""
    loop = asyncio.get_running_loop()
    served = UvicornConfig(app, proxy_headers=False, access_log=False, log_level="warning")
    served.load()
    state = ServerState()
    protocol_class = http_protocol(config)
    schedule_at = int(time.time()) + 3600
    sent = [0]
    per_request = 0.0
    for count in (requests // 5, requests):
        left = [count]
        finished: asyncio.Future[None] = loop.create_future()

        def connection(left: list[int], finished: asyncio.Future[None]) -> Any:
            protocol = protocol_class(config=served, server_state=state, app_state={}, _loop=loop)

            def answered(data: bytes) -> None:
                if not data.startswith(b"HTTP/1.1 20"):
                    raise RuntimeError(f"refused: {data[:200]!r}")
                left[0] -= 1
                if left[0] >= connections:
                    sent[0] += 1
                    loop.call_soon(protocol.data_received, request(sent[0], schedule_at))
                elif left[0] == 0 and not finished.done():
                    finished.set_result(None)

            protocol.connection_made(Transport(answered))
            return protocol

        protocols = [connection(left, finished) for _ in range(connections)]
        started = time.process_time()
        for protocol in protocols:
            sent[0] += 1
            protocol.data_received(request(sent[0], schedule_at))
        await finished
        per_request = (time.process_time() - started) / count
        for protocol in protocols:
            protocol.connection_lost(None)
    return per_request


async def measure(stage: int, requests: int, connections: int) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-stages-"))
    try:
        config = msgspec.convert({"database": new_database(tmp), "log_level": "warning"}, Config)
        app: Any = build_app(config, run_engine=False, on_accept=lambda: None)
        if STAGES[stage] != "full":  # app.ErrorGuard serves this route before Starlette's
            gateway = app.app.state.gateway
            handler = raw_endpoint(partial(cut_short, stage, gateway), REFUSALS)
            app.fast[("POST", "/api/v1/messages")] = (handler, "native")
        lifespan = LifespanOn(UvicornConfig(app, lifespan="on", log_level="warning"))
        await lifespan.startup()
        _freeze_heap()
        try:
            return await drive(app, config, requests, connections)
        finally:
            await lifespan.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(stage: int, requests: int, connections: int) -> float:
    run_one: Callable[[], Awaitable[float]] = partial(measure, stage, requests, connections)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_one())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--stages", action="store_true", help="each stage's share as well")
    args = parser.parse_args()
    stages = range(len(STAGES)) if args.stages else [len(STAGES) - 1]
    before = 0.0
    for stage in stages:
        used = run(stage, args.requests, args.connections) * 1e6
        added = f" (+{used - before:.1f})" if stage and args.stages else ""
        print(f"{STAGES[stage]:>8}: {used:6.1f} us CPU per request{added}", flush=True)
        before = used


if __name__ == "__main__":
    main()
