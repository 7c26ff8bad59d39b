"""Helpers every dialect shares (smsgate/dialects/http.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from smsgate.dialects.http import release_after


class Big:
    """Stands for a large request's objects (decoded recipients, messages, outcomes)."""


async def test_release_after_frees_the_objects_after_the_answer_is_written() -> None:
    refs: list[weakref.ref[Big]] = []

    async def bulk(request: Request) -> Response:
        garbage = Big()
        refs.append(weakref.ref(garbage))
        return release_after(Response(b"accepted"), garbage)

    app = Starlette(routes=[Route("/bulk", bulk, methods=["POST"])])
    alive_when_written: list[bool] = []
    alive_when_flushed: list[bool] = []  # as smsgate's transport sends: at the turn's end

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            alive_when_written.append(refs[0]() is not None)
            asyncio.get_running_loop().call_soon(
                lambda: alive_when_flushed.append(refs[0]() is not None)
            )

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/bulk",
        "headers": [],
        "query_string": b"",
        "root_path": "",
    }
    gc.disable()  # only reference counting may free it, so that the moment is the helper's
    try:
        await app(scope, receive, send)
        assert alive_when_written == [True]
        assert refs[0]() is not None  # the handler has returned; the write is not flushed yet
        await asyncio.sleep(0)  # the loop's next turn: the write is flushed, then freed
        assert alive_when_flushed == [True]
        assert refs[0]() is None
    finally:
        gc.enable()
