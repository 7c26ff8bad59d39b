"""The console's overview (figures, charts, live over server-sent events), its incoming SMS
and its audit log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import auth
from .console_figures import DAY_BUCKET, MINUTE, Figures, Snapshot
from .context import context_of
from .pages_query import Cursor, optional_int
from .pages_render import environment, render, root_of

PAGE = 50


def series(snapshot: Snapshot) -> dict[str, Any]:
    """The charts' data: uPlot takes the x values (Unix seconds) and one list per status."""
    return {
        "hour": {"start": snapshot.hour_start, "step": MINUTE, "series": snapshot.hour},
        "day": {"start": snapshot.day_start, "step": DAY_BUCKET, "series": snapshot.day},
    }


def figures_html(request: Request, snapshot: Snapshot) -> str:
    return environment.get_template("_figures.html").render(s=snapshot, root=root_of(request))


async def overview(request: Request, figures: Figures) -> Response:
    snapshot = await figures.snapshot()
    return render(
        request,
        "overview.html",
        s=snapshot,
        figures=figures_html(request, snapshot),
        series=msgspec.json.encode(series(snapshot)).decode(),
        connector=context_of(request).connector,
    )


async def events(request: Request, figures: Figures) -> Response:
    """The overview's figures every `figures.interval` seconds: an HTML fragment that htmx
    swaps in ("figures") and the charts' data ("series")."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        while True:
            snapshot = await figures.snapshot()
            yield {"event": "figures", "data": figures_html(request, snapshot)}
            yield {"event": "series", "data": msgspec.json.encode(series(snapshot)).decode()}
            await asyncio.sleep(figures.interval)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})


@auth.require_page()
async def incoming(request: Request) -> Response:
    store = context_of(request).store
    account_id = optional_int(request.query_params.get("account"))
    cursor = Cursor.of(request)
    found = await store.console_mo(account_id, before_seq=cursor.before, limit=PAGE + 1)
    names = {a.id: a.name for a in await store.list_accounts()}
    return render(
        request,
        "incoming.html",
        rows=found[:PAGE],
        older=found[PAGE - 1].seq if len(found) > PAGE else None,
        account_id=account_id,
        names=names,
    )


@auth.require_page()
async def audit(request: Request) -> Response:
    store = context_of(request).store
    cursor = Cursor.of(request)
    target = request.query_params.get("target") or None
    found = await store.audit_list(target=target, before_id=cursor.before, limit=PAGE + 1)
    return render(
        request,
        "audit.html",
        rows=found[:PAGE],
        older=found[PAGE - 1].id if len(found) > PAGE else None,
        target=target or "",
    )


def routes(figures: Figures) -> list[BaseRoute]:
    @auth.require_page()
    async def overview_page(request: Request) -> Response:
        return await overview(request, figures)

    @auth.require_page()
    async def event_stream(request: Request) -> Response:
        return await events(request, figures)

    return [
        Route("/", overview_page, methods=["GET"]),
        Route("/events", event_stream, methods=["GET"]),
        Route("/incoming", incoming, methods=["GET"]),
        Route("/audit", audit, methods=["GET"]),
    ]
