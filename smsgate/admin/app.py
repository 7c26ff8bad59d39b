"""The console's Starlette app: the admin API at `api/` and the dashboard's pages at its root,
served under /admin, either on the main listener (a Mount there) or on a listener of its own
(`admin_listen`: `ListenerSplit` gives the requests of that port to it alone).

The pages are C2's: `smsgate.admin.pages.routes(context)` with the `AdminContext` built by
`smsgate.app` (the store, the gateway, the [admin] settings, the link states, the callback
networks, the enabled dialects, the connector's name); mounted when that module exists.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..connectors.base import LinkState
from ..core.errors import ErrorCode, GatewayError
from ..engine.runtime import Engine
from . import api
from .api_common import error
from .context import AdminContext

PREFIX = "/admin"
# Every console answer: never framed by another site (clickjacking), never sniffed, never
# cached by a shared cache, no referrer sent elsewhere.
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def _pages(context: AdminContext) -> list[BaseRoute]:
    """The dashboard's routes, where the pages module is installed (C2's part of the console)."""
    if importlib.util.find_spec("smsgate.admin.pages") is None:
        return []
    from . import pages, pages_routes

    return [*pages.routes(context), *pages_routes.routes()]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(f"{PREFIX}/api"):
        code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.BAD_REQUEST
        answer = error(GatewayError(code, str(exc.detail)))
        answer.status_code = exc.status_code
        return answer
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


class SecurityHeaders:
    """Adds `_HEADERS` to every answer of the console."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def build_admin_app(context: AdminContext) -> Starlette:
    """The console, its routes relative to /admin. Its store is opened by the main app's
    lifespan (the admin app has none)."""
    routes: list[BaseRoute] = [Mount("/api", routes=api.routes()), *_pages(context)]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.admin = context
    return app


def admin_mount(admin: Starlette) -> Mount:
    return Mount(PREFIX, app=admin)


class ListenerSplit:
    """Requests to `admin_port` go to the console alone (under /admin); the others, and the
    lifespan, to the main app. One server, both sockets: with several workers, each serves
    both (`admin_listen`)."""

    def __init__(self, main: ASGIApp, admin: Starlette, admin_port: int) -> None:
        self.main = main
        self.admin = Starlette(routes=[admin_mount(admin)])
        self.admin_port = admin_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] in ("http", "websocket") and server and server[1] == self.admin_port:
            await self.admin(scope, receive, send)
            return
        await self.main(scope, receive, send)


def links_of(engine: Engine | None) -> Callable[[], list[LinkState]]:
    """The link states of the engine's connector and SMPP server, now (none without one)."""

    def links() -> list[LinkState]:
        if engine is None:
            return []
        states = list(engine.connector.link_states())
        if engine.smpp_server is not None:
            states += engine.smpp_server.link_states()
        return states

    return links
