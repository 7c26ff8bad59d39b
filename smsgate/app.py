"""Builds the application from configuration, once per process, in one place.

`build_node` makes each part once (the store, the callback router, the reports, the acceptor,
the gateway and, where this process dispatches, the engine with its connector, dispatcher,
notifier and SMPP server) and hands every part the others it needs through its constructor:
nothing is assigned afterwards. It is also where the dialects meet the engine: their callback
policies are handed to the engine by name, so that the engine never imports a dialect.
`build_app` puts every dialect's routes, health and metrics on the node's gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import logs
from .admin.app import ListenerSplit, admin_mount, build_admin_app, links_of
from .admin.context import AdminContext
from .admin.routing_context import routing_setup
from .config import Config
from .connectors.base import Connector, Incoming
from .connectors.simulator import Simulator
from .core import numbering
from .core import phone as phones
from .core.errors import ErrorCode, GatewayError
from .core.routing import push_token
from .dialects import available
from .dialects.asgi import REQUEST_ID, Answered, FastRoutes, RawHandler, header, respond_json
from .dialects.base import Dialect
from .dialects.http import bearer_token, read_body
from .dialects.native.errors import error_response
from .dialects.smpp.callbacks import SmppCallbacks
from .dialects.smpp.server import SmppServer, SmppServerConfig
from .engine import metrics
from .engine.accept import Acceptor
from .engine.callbacks import CallbackPolicy
from .engine.dispatcher import Dispatcher
from .engine.gateway import Gateway
from .engine.notifier import HttpSender, Notifier, Sender
from .engine.reports import Reports
from .engine.routing import CallbackRouter
from .engine.runtime import Engine, NumberBook
from .engine.upstreams import Router, take_push
from .store import open_store
from .store.base import EVERY_DIALECT, OutboxScope, Store

log = logging.getLogger("smsgate.app")


def enabled_dialects(config: Config) -> list[Dialect]:
    dialects = available()
    if config.dialects:
        dialects = [d for d in dialects if d.name in config.dialects or d.name == "native"]
    return dialects


def callback_policies(
    dialects: Sequence[Dialect], delay_scale: float = 1.0, smpp: SmppServerConfig | None = None
) -> dict[str, CallbackPolicy]:
    """Each dialect's callback policy for this process, by dialect name: the dialect's own,
    with its delays scaled by `delay_scale` (tests), and the SMPP binds' retried as [smpp]
    says. New objects where they differ: a dialect's own policy is never changed."""
    policies = {
        d.name: d.callbacks.scaled(delay_scale) for d in dialects if d.callbacks is not None
    }
    if "smpp" in policies and smpp is not None:
        policies["smpp"] = SmppCallbacks(retry=smpp.receipt_retry, retention=smpp.receipt_retention)
    return policies


def build_connector(
    config: Config, store: Store, upstreams: Mapping[str, Connector] | None = None
) -> Connector:
    """The connector `config.connector` names: "simulator" (the default) or "smpp"; with
    `[[upstreams]]`, a Router over it and them (docs/routing.md)."""
    if config.connector == "smpp":
        from .connectors.smpp import SmppConnector

        base: Connector = SmppConnector(config.smpp_client, store)
    elif config.connector == "simulator":
        base = Simulator(store, config.simulator)
    else:
        raise ValueError(f"unknown connector {config.connector!r}")
    if not upstreams:
        return base
    return Router(
        store,
        {base.name: base, **upstreams},
        default=base.name,
        default_route=config.routing.default_route,
        breaker=config.routing.breaker,
        reload=config.routing.reload,
    )


def build_upstreams(config: Config, store: Store) -> dict[str, Connector]:
    """A connector for each `[[upstreams]]` entry, by name (not started)."""
    if not config.upstreams:
        return {}
    from .connectors.http import build_upstream

    return {u.name: build_upstream(u, store) for u in config.upstreams}


def build_dispatcher(
    config: Config, store: Store, connector: Connector, reports: Reports
) -> Dispatcher:
    return Dispatcher(
        store,
        connector,
        reports,
        batch=config.dispatcher.batch,
        poll=config.dispatcher.poll,
        lease=config.dispatcher.lease,
        max_inflight=config.dispatcher.max_inflight,
        exclusive=store.exclusive_dispatch,
        idle_poll=config.dispatcher.idle_poll,
        requeue_after=config.routing.retry_delay,
    )


def build_notifier(
    config: Config,
    store: Store,
    policies: Mapping[str, CallbackPolicy],
    send: Sender,
    scope: OutboxScope = EVERY_DIALECT,
    wakeup: asyncio.Event | None = None,
) -> Notifier:
    """A notifier with the configured timings, for the engine's or the notifier process's."""
    return Notifier(
        store,
        policies,
        send,
        poll=config.notifier.poll,
        lease=config.notifier.lease,
        concurrency=config.notifier.concurrency,
        scope=scope,
        wakeup=wakeup,
        idle_poll=config.notifier.idle_poll,
    )


@dataclasses.dataclass(frozen=True)
class Node:
    """What one process serves with: the gateway over its store, and the engine if it runs one."""

    store: Store
    gateway: Gateway
    engine: Engine | None
    # The HTTP upstreams by name (the engine's Router has the same objects): their DR pushes
    # are taken by every process at /upstream/{name}/dr.
    upstreams: Mapping[str, Connector] = dataclasses.field(default_factory=dict)


def build_node(
    config: Config,
    dialects: Sequence[Dialect],
    *,
    store: Store | None = None,
    run_engine: bool = True,
    callbacks: OutboxScope | None = None,
    on_change: Callable[[], None] | None = None,
    on_accept: Callable[[], None] | None = None,
) -> Node:
    """Every part of one process, each built once. With `run_engine`, the engine too, and the
    SMPP server where [smpp] has a port and the smpp dialect is enabled. `callbacks`: the
    dialects whose callbacks this engine's notifier delivers (None: all; a notifier process,
    told through `on_change`, delivers the others). `on_accept`: an HTTP worker's way to wake
    the engine process when it accepts due messages."""
    store = store or open_store(config.database, **config.store_options())
    # The table of numbers that can exist is built now, once a process, not inside the first
    # request that checks a phone: the first 50,000-recipient bulk after a start paid its
    # ~0.2 s of CPU (0.30 s of build_messages against 0.11 s for every later bulk).
    numbering.prepare()
    policies = callback_policies(dialects, config.notifier.delay_scale, config.smpp)
    router = CallbackRouter(policies)
    numbers = NumberBook(store)
    settings: dict[str, Any] = {"config": config}
    upstreams = build_upstreams(config, store)
    if not run_engine:  # an HTTP worker: it accepts and reads; the engine is another process's
        reports = Reports(store, router, numbers, refresh_numbers=numbers.refresh)
        acceptor = Acceptor(
            store,
            config.limits,
            on_accept=on_accept,
            callback_networks=config.callbacks.networks(),
        )
        gateway = Gateway(store, acceptor, router, reports=reports, settings=settings)
        return Node(store, gateway, None, upstreams)
    connector = build_connector(config, store, upstreams)
    reports = Reports(store, router, numbers, connector.name, on_change=on_change)
    dispatcher = build_dispatcher(config, store, connector, reports)
    acceptor = Acceptor(
        store,
        config.limits,
        on_accept=dispatcher.wakeup.set,
        callback_networks=config.callbacks.networks(),
    )
    gateway = Gateway(store, acceptor, router, reports=reports, settings=settings)
    # The SMPP server runs beside the engine: its submits wake this dispatcher, and receipts and
    # MO reach its binds through this engine's notifier (smpp: callback URLs).
    smpp_server = None
    if config.smpp.port and "smpp" in policies:
        smpp_server = SmppServer(config.smpp, gateway, default_host=config.host)
    notifier, http = _engine_notifier(config, store, policies, reports, smpp_server, callbacks)
    engine = Engine(
        store,
        connector,
        numbers,
        reports,
        dispatcher,
        notifier,
        smpp_server=smpp_server,
        http=http,
        purge_every=config.retention.purge_every,
        outbox_days=config.retention.outbox_days,
    )
    return Node(store, gateway, engine, upstreams)


def _engine_notifier(
    config: Config,
    store: Store,
    policies: Mapping[str, CallbackPolicy],
    reports: Reports,
    smpp_server: SmppServer | None,
    callbacks: OutboxScope | None,
) -> tuple[Notifier | None, HttpSender | None]:
    """The engine's notifier, woken by its reports, and the HTTP sender it closes at the end.
    Beside a notifier process, it only serves the SMPP binds: none without an SMPP server."""
    if callbacks is not None and smpp_server is None:
        return None, None
    http = HttpSender(timeout=config.notifier.timeout, allowed=config.callbacks.networks())
    send = smpp_server.sender(http) if smpp_server is not None else http
    scope = callbacks or EVERY_DIALECT
    return build_notifier(config, store, policies, send, scope, reports.changed), http


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
DISCONNECTED = 499  # the status counted for a request whose client left before its answer

access_log = logging.getLogger("smsgate.access")


class ErrorGuard:
    """Last line of defence: an unexpected exception becomes a plain 500 JSON without details.

    It also gives every request its id (the client's X-Request-ID, or a new one), echoed in
    the answer's X-Request-ID and carried by every log line the request causes; counts and
    times every request for `smsgate_requests_total` and `smsgate_request_seconds`; writes
    the access log line when `access_log`; and serves the dialects' fast routes (bare ASGI
    handlers) before Starlette's routing.
    """

    def __init__(
        self, app: ASGIApp, fast: FastRoutes | None = None, *, access_log: bool = False
    ) -> None:
        self.app = app
        # Each fast route with its dialect's label, found once rather than per request
        self.fast = {key: (handler, dialect_of(key[1])) for key, handler in (fast or {}).items()}
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        found = self.fast.get((scope["method"], path))
        fast, dialect = found if found is not None else (None, dialect_of(path))
        context = logs.RequestContext(logs.request_id(header(scope, REQUEST_ID)), dialect)
        token = logs.CONTEXT.set(context)
        started_at = time.perf_counter()
        try:
            if fast is not None:  # its answers go through respond_json or Answered already
                await fast(scope, receive, send)
            else:
                await self.app(scope, receive, Answered(send, context))
        except ClientDisconnect:
            pass  # nobody is left to answer
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), path)
            # A fast route starts its answer last: an exception there means none has started.
            if not context.status:
                await respond_json(send, 500, SYSTEM_ERROR)
        finally:
            seconds = time.perf_counter() - started_at
            status = context.status or DISCONNECTED
            metrics.BATCH.observe_request(context.dialect, seconds, status)
            if self.access_log:
                _log_access(scope, status, seconds)
            logs.CONTEXT.reset(token)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    """One line per request: never its query string, which may carry credentials (SMSC's
    psw, OsonSMS's hash, a login and password in a GET). The record is made here rather than
    by `info()`, which looks up its caller's frame: a fifth of the line's cost, for a line
    whose origin is always this one."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    method, path = scope["method"], scope["path"]
    client = scope.get("client")
    record = logging.LogRecord(
        access_log.name, logging.INFO, __file__, 0, "%s %s %d", (method, path, status), None
    )
    record.method, record.path, record.status = method, path, status
    record.ms = round(seconds * 1000, 2)
    record.client = client[0] if client else None
    access_log.handle(record)


def build_app(
    config: Config,
    *,
    run_engine: bool = True,
    store: Store | None = None,
    on_accept: Callable[[], None] | None = None,
) -> Starlette:
    """The application. With `run_engine`, this process also dispatches and notifies; without,
    `on_accept` wakes the engine process."""
    dialects = enabled_dialects(config)
    own_store = store is None
    node = build_node(config, dialects, store=store, run_engine=run_engine, on_accept=on_accept)
    store, gateway, engine = node.store, node.gateway, node.engine

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        if engine is not None:
            await store.migrate()
            await engine.start()
        try:
            yield
        finally:
            metrics.BATCH.flush()  # a stopping worker's last counts, before its values stay behind
            if engine is not None:
                await engine.stop()
            if own_store:
                await store.close()

    routes: list[BaseRoute] = []
    fast: dict[tuple[str, str], RawHandler] = {}
    for dialect in dialects:
        routes += dialect.routes(gateway)
        if dialect.fast_routes is not None:
            fast.update(dialect.fast_routes(gateway))
    routes += _operations(gateway, store, config)
    routes += upstream_push_routes(node, config)
    admin = build_admin_app(admin_context(config, node, dialects))
    admin_address = config.admin_address()
    if admin_address is None:  # else on its own listener: ListenerSplit
        routes.append(admin_mount(admin))

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.max_body = config.max_body
    app.state.gateway = gateway
    app.state.store = store
    app.state.engine = {"engine": engine} if engine is not None else {}  # tests reach it here
    served = app if admin_address is None else ListenerSplit(app, admin, admin_address[1])
    return ErrorGuard(served, fast, access_log=wants_access_log(config))  # type: ignore[return-value]


def admin_context(config: Config, node: Node, dialects: Sequence[Dialect]) -> AdminContext:
    """What the console works with in this process (smsgate/admin/app.py)."""
    return AdminContext(
        store=node.store,
        gateway=node.gateway,
        settings=config.admin,
        links=links_of(node.engine),
        callback_networks=config.callbacks.networks(),
        dialects=tuple(d.name for d in dialects),
        connector=config.connector,
        routing=routing_setup(
            config.smpp_client.name if config.connector == "smpp" else "simulator",
            config.routing.default_route,
            config.upstreams,
            node.engine.connector if node.engine is not None else None,
        ),
    )


def wants_access_log(config: Config) -> bool:
    """`access_log`, or by default: on with JSON logs (shipped to a log store), off with text."""
    return config.access_log if config.access_log is not None else config.log_format == "json"


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


PUSH_MAX_BODY = 1 << 20  # a DR push is small; a larger body is refused before it is read


def upstream_push_routes(node: Node, config: Config) -> list[BaseRoute]:
    """`GET|POST /upstream/{name}/dr?token=...`: the DR pushes of each HTTP upstream, taken by
    any process. Authenticated by the token in the upstream's `dr_url` (compared in constant
    time), or, for an upstream with a `dr_secret` and no token, by the provider's signature,
    which its connector checks (it checks it too when both are given). Neither: 404."""
    tokens = {u.name: push_token(u.dr_url) for u in config.upstreams}
    signed = {u.name for u in config.upstreams if u.dr_secret}

    async def push(request: Request) -> Response:
        name = request.path_params["name"]
        connector = node.upstreams.get(name)
        expected = tokens.get(name)
        given = request.query_params.get("token", "")
        if connector is None or (expected is None and name not in signed):
            return Response(b"not found", status_code=404, media_type="text/plain")
        if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("DR push to upstream %s refused: wrong token", name)
            return Response(b"forbidden", status_code=403, media_type="text/plain")
        try:
            body = await read_body(request, PUSH_MAX_BODY)
        except GatewayError as exc:
            log.warning("DR push to upstream %s refused: %s", name, exc.detail)
            return Response(b"bad request", status_code=400, media_type="text/plain")
        query = {k: v for k, v in request.query_params.items() if k != "token"}
        headers = {k.lower(): v for k, v in request.headers.items()}
        reports = node.gateway.reports
        assert reports is not None  # every node's gateway records reports
        status, answer = await take_push(
            connector, node.store, reports, (request.method, query, headers, body)
        )
        return Response(answer, status_code=status)

    if not config.upstreams:
        return []
    return [Route("/upstream/{name}/dr", push, methods=["GET", "POST"])]
