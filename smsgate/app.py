"""Builds the ASGI application from configuration: every dialect's routes, health, metrics."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import Config
from .connectors.base import Incoming
from .core import phone as phones
from .core.errors import ErrorCode, GatewayError
from .dialects import available
from .dialects.asgi import FastRoutes, RawHandler, respond_json
from .dialects.base import Dialect
from .dialects.http import bearer_token, read_body
from .dialects.native.errors import error_response
from .engine import metrics
from .engine.gateway import Gateway
from .engine.reports import Reports
from .engine.routing import CallbackRouter
from .engine.runtime import Engine, NumberBook, callback_policies
from .store import open_store
from .store.base import Store

log = logging.getLogger("smsgate.app")


def enabled_dialects(config: Config) -> list[Dialect]:
    dialects = available()
    if config.dialects:
        dialects = [d for d in dialects if d.name in config.dialects or d.name == "native"]
    return dialects


_PREFIXES = (
    ("/api/v1/bulk-sms", "osonsms"),
    ("/api/", "native"),
    ("/msghub/", "msghub"),
    ("/app/smsgw/", "smsgw2"),
    ("/sendsms_v1.php", "osonsms"),
    ("/query_sms.php", "osonsms"),
    ("/check_balance.php", "osonsms"),
    ("/json", "mysmpp"),
    ("/xml", "mysmpp"),
    ("/sys/", "smsc"),
    ("/rest/", "smsc"),
)


def dialect_of(path: str) -> str:
    """The dialect a path belongs to, for the request-latency metric's label."""
    for prefix, name in _PREFIXES:
        if path.startswith(prefix):
            return name
    return "other"


SYSTEM_ERROR = b'{"error":{"code":"system_error","message":"internal error"}}'


class ErrorGuard:
    """Last line of defence: an unexpected exception becomes a plain 500 JSON without details.

    It also times every request for the `smsgate_request_seconds` histogram, and serves the
    dialects' fast routes (bare ASGI handlers) before Starlette's routing.
    """

    def __init__(self, app: ASGIApp, fast: FastRoutes | None = None) -> None:
        self.app = app
        self.fast = dict(fast or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fast = self.fast.get((scope["method"], scope["path"]))
        # A fast route starts its answer last: an exception there means none has started, and
        # its send needs no watching.
        tracked = None if fast is not None else _Tracked(send)
        started_at = time.perf_counter()
        try:
            await (fast or self.app)(scope, receive, tracked or send)
        except ClientDisconnect:
            pass  # nobody is left to answer
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if tracked is None or not tracked.started:
                await respond_json(send, 500, SYSTEM_ERROR)
        finally:
            metrics.BATCH.observe_request(
                dialect_of(scope["path"]), time.perf_counter() - started_at
            )


class _Tracked:
    """An ASGI send that remembers whether the answer has started."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


def build_app(
    config: Config,
    *,
    run_engine: bool = True,
    store: Store | None = None,
    engine_factory: type[Engine] = Engine,
) -> Starlette:
    """The application. With `run_engine`, this process also dispatches and notifies."""
    dialects = enabled_dialects(config)
    own_store = store is None
    store = store or open_store(config.database, **config.store_options())
    router = CallbackRouter(callback_policies(dialects, config.notifier.delay_scale))
    numbers = NumberBook(store)
    gateway = Gateway(
        store,
        config.limits,
        router,
        reports=Reports(store, router, numbers),
        settings={"config": config},
    )
    state: dict[str, Engine] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        if run_engine:
            await store.migrate()
            engine = engine_factory(config, store, dialects)
            await engine.start()
            state["engine"] = engine
            gateway.reports = engine.reports
            gateway.acceptor.on_accept = engine.wake
        try:
            yield
        finally:
            metrics.BATCH.flush()  # a stopping worker's last counts, before its values stay behind
            if "engine" in state:
                await state.pop("engine").stop()
            if own_store:
                await store.close()

    routes: list[BaseRoute] = []
    fast: dict[tuple[str, str], RawHandler] = {}
    for dialect in dialects:
        routes += dialect.routes(gateway)
        if dialect.fast_routes is not None:
            fast.update(dialect.fast_routes(gateway))
    routes += _operations(gateway, store, config)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.max_body = config.max_body
    app.state.gateway = gateway
    app.state.store = store
    app.state.engine = state
    return ErrorGuard(app, fast)  # type: ignore[return-value]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.BAD_REQUEST
    return error_response(GatewayError(code, exc.detail), exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Starlette answers with this, then re-raises to ErrorGuard, which logs the exception."""
    return Response(SYSTEM_ERROR, status_code=500, media_type="application/json")


def _operations(gateway: Gateway, store: Store, config: Config) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(request: Request) -> Response:
        try:
            await store.ping()
        except Exception:
            return Response(
                b'{"status":"unavailable"}', status_code=503, media_type="application/json"
            )
        return Response(b'{"status":"ready"}', media_type="application/json")

    async def metrics_endpoint(request: Request) -> Response:
        from prometheus_client import REGISTRY

        metrics.BATCH.flush()  # this process's counts; other workers' are at most a moment old
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def simulate_incoming(request: Request) -> Response:
        """Simulator only: an SMS from a phone to this account (as a carrier would deliver)."""
        try:
            token = bearer_token(request)
            account = await gateway.token("native", token) if token else None
            if account is None:
                raise GatewayError(ErrorCode.UNAUTHORIZED, "missing or invalid bearer token")
            try:
                body = msgspec.json.decode(await read_body(request, 65536), type=dict[str, str])
                sms = Incoming(
                    phone=phones.normalize(body["from"]),
                    to=body["to"],
                    text=body["text"],
                    at=time.time(),
                    account_id=account.id,
                )
            except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as exc:
                raise GatewayError(
                    ErrorCode.MALFORMED_BODY, f"need from, to, text: {exc}"
                ) from None
            await gateway.inject_incoming([sms])
        except GatewayError as exc:
            return error_response(exc)
        return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    if config.connector == "simulator":
        routes.append(Route("/simulator/incoming", simulate_incoming, methods=["POST"]))
    return routes
