"""The console's routes page: the routing table (rules, routes, prices), the HTTP upstreams
(no credential) and a "test a number" form whose htmx POST is answered with the rule and route
a message would take, from the admin API's `route_test` (the function `smsgate routes test`
prints). The page only reads: the table is changed by `PUT /admin/api/routes` or
`smsgate routes import`."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.errors import GatewayError
from ..core.routing_views import price_text
from . import auth
from .api_routes import RouteTest, route_test, upstreams_view
from .context import context_of
from .pages_render import render

MAX_FIELD = 64  # characters kept of a form field


async def page(request: Request, **tested: Any) -> Response:
    """The whole page; with `tested` (a choice or a refusal), the test form's answer in it."""
    context = context_of(request)
    return render(
        request,
        "routes.html",
        table=await context.store.routing_table(),
        price_text=price_text,
        upstreams=await upstreams_view(context),
        default_connector=context.routing.default,
        default_route=context.routing.default_route,
        **tested,
    )


@auth.require_page()
async def routes_page(request: Request) -> Response:
    return await page(request)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""  # a file is no text


@auth.require_page()
async def test_number(request: Request) -> Response:
    """The test form's answer: the rule, the route and its hops, or why not; a fragment for
    htmx, the whole page with it for a browser without JavaScript."""
    answer = await tested(request)
    if request.headers.get("HX-Request") == "true":
        return render(request, "_route_test.html", **answer)
    return await page(request, **answer)


async def tested(request: Request) -> dict[str, Any]:
    """`choice` (route_test's answer) for the form's fields, or `refusal`: why not."""
    form = await request.form()
    at = _field(form, "at")
    fields = {
        "phone": _field(form, "phone"),
        "account": _field(form, "account") or None,
        "sender": _field(form, "sender") or None,
        "dialect": _field(form, "dialect") or "native",
    }
    try:
        given = msgspec.convert({**fields, "at": float(at) if at else None}, RouteTest)
        choice = await route_test(context_of(request), given)
    except ValueError:  # msgspec.ValidationError is one too
        return {"refusal": "at is not a Unix time"}
    except GatewayError as exc:
        return {"refusal": exc.detail}
    return {"choice": choice}


def routes() -> list[BaseRoute]:
    return [
        Route("/routes", routes_page, methods=["GET"]),
        Route("/routes/test", test_number, methods=["POST"]),
    ]
