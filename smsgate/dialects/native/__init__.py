"""smsgate's own JSON API (Bearer tokens, OpenAPI, signed callbacks)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ...engine.gateway import Gateway
from ..base import Dialect
from . import api
from .callbacks import NativeCallbacks
from .openapi import DOCS_PAGE, document


def routes(gateway: Gateway) -> list[BaseRoute]:
    spec = msgspec.json.encode(document())

    async def openapi(request: Request) -> Response:
        return Response(spec, media_type="application/json")

    async def docs(request: Request) -> Response:
        return HTMLResponse(DOCS_PAGE)

    return [
        *api.routes(gateway),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]


dialect = Dialect(
    name="native",
    routes=routes,
    callbacks=NativeCallbacks(),
    description="smsgate native API",
    fast_routes=api.fast_routes,
)
