"""Real servers for tests: smsgate on uvicorn (in this loop), and an aiohttp callback receiver."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import uvicorn
from aiohttp import web

from smsgate.app import build_app
from smsgate.config import CallbacksConfig, Config, DispatcherConfig, NotifierConfig
from smsgate.connectors.simulator import SimulatorConfig
from smsgate.core.routing import RoutingTable
from smsgate.dialects.smpp.server import SmppServerConfig
from smsgate.engine.runtime import Engine
from smsgate.provision import AccountSpec, CredentialSpec, Document, apply
from smsgate.server import HTTP_PROTOCOL, proxy_options
from smsgate.store.base import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LOOPBACK = ["127.0.0.0/8", "::1"]


def loopback_config() -> Path:
    """A config file that opens loopback to callbacks, for smsgate started as a process (the
    receivers listen on 127.0.0.1; a list setting is the TOML file's)."""
    path = Path(tempfile.gettempdir()) / f"smsgate-test-callbacks-{os.getpid()}.toml"
    if not path.exists():
        path.write_text(f"[callbacks]\nallow_networks = {json.dumps(LOOPBACK)}\n")
    return path


def test_config(database: str, **overrides: Any) -> Config:
    """Fast timings for tests; the policies are unchanged, only scaled."""
    base = Config(
        database=database,
        workers=1,
        simulator=SimulatorConfig(dr_delay=0.01),
        dispatcher=DispatcherConfig(poll=0.01, idle_poll=0.1),
        notifier=NotifierConfig(poll=0.02, delay_scale=0.001, timeout=5.0),
        smpp=SmppServerConfig(port=0),  # tests that want SMPP pick a free port
        # The receivers listen on loopback, which callbacks may not reach by default.
        callbacks=CallbacksConfig(allow_networks=LOOPBACK),
    )
    return msgspec.structs.replace(base, **overrides)


@dataclass
class Gateway:
    """A running smsgate: its base URL, its store and its engine."""

    url: str
    config: Config
    app: Any
    store: Store
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.app.state.engine["engine"]
        return engine

    async def provision(self, *accounts: AccountSpec) -> list[int]:
        allowed = self.config.callbacks.networks()
        await apply(self.store, Document(accounts=list(accounts)), allowed_networks=allowed)
        ids = []
        for spec in accounts:
            found = await self.store.account_by_name(spec.name)
            assert found is not None
            ids.append(found.id)
        return ids

    async def apply_routes(self, table: RoutingTable, timeout: float = 5.0) -> None:
        """Apply a routing table and wait until the engine's router has loaded it: until then
        messages take the default route (the simulator), which a test would miscount."""
        await self.store.routing_apply(table)

        async def loaded() -> bool:
            return getattr(self.engine.connector, "table", None) == table

        await self.wait_for(loaded, timeout)

    async def wait_for(
        self, predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0
    ) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def start_gateway(config: Config, port: int = 0) -> Gateway:
    """`port` 0: any free one. A node whose own URL is in its configuration (an upstream's
    `dr_url`) picks its port first."""
    app = build_app(config, run_engine=True)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            loop="asyncio",
            http=HTTP_PROTOCOL.configured(
                header_timeout=config.header_timeout, keep_alive_timeout=config.keep_alive_timeout
            ),
            **proxy_options(config),
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    guarded: Any = app  # build_app's ErrorGuard around the Starlette app, typed as the app
    store = guarded.state.store if hasattr(guarded, "state") else guarded.app.state.store
    return Gateway(f"http://127.0.0.1:{port}", config, app, store, server, task)


def account(name: str = "acme", **fields: Any) -> AccountSpec:
    """An account with a credential of every kind, named after it (password = name + '-pw')."""
    creds = fields.pop("credentials", None) or [
        CredentialSpec(dialect="native", kind="token", secret=f"{name}-token"),
        CredentialSpec(dialect="msghub", kind="basic", identifier=name, secret=f"{name}-pw"),
        CredentialSpec(dialect="smsgw2", kind="basic", identifier=name, secret=f"{name}-pw"),
        CredentialSpec(dialect="osonsms", kind="salt", identifier=name, secret=f"{name}-salt"),
        CredentialSpec(dialect="mysmpp", kind="login", identifier=name, secret=f"{name}-pw"),
        CredentialSpec(dialect="smsc", kind="login", identifier=name, secret=f"{name}-pw"),
        CredentialSpec(dialect="smpp", kind="smpp", identifier=name, secret=f"{name}-pw"),
    ]
    defaults: dict[str, Any] = {"balance": "1000", "price": "0.5", "senders": ["ACME", "Test"]}
    defaults.update(fields)
    return AccountSpec(name=name, credentials=creds, **defaults)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


Responder = Callable[[Received, int], tuple[int, bytes]]


@dataclass
class Receiver:
    """A real aiohttp server recording every callback; `respond` decides each answer."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    respond: Responder = lambda req, n: (200, b"OK")
    runner: web.AppRunner | None = None

    async def wait_count(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.requests) < n:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"got {len(self.requests)} callbacks, wanted {n}")
            await asyncio.sleep(0.01)
        return self.requests


async def start_receiver() -> Receiver:
    receiver = Receiver()

    async def handle(request: web.Request) -> web.Response:
        received = Received(
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            await request.read(),
        )
        receiver.requests.append(received)
        status, body = receiver.respond(received, len(receiver.requests))
        return web.Response(status=status, body=body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Bound here and handed over open: a port picked and closed first could be another
    # worker's by the time the site binds it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    receiver.runner = runner
    return receiver


def client(base_url: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=base_url)
