"""The one endpoint wrapper (smsgate/dialects/endpoint.py): refusals and storage down answered
by the dialect's Refusals, on Starlette routes and on bare ASGI handlers alike."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smsgate.dialects.asgi import respond_json
from smsgate.dialects.endpoint import Refusals, endpoint, raw_endpoint
from smsgate.store.base import StoreUnavailable


class Refused(Exception):
    """A dialect's own refusal."""


def answer(request: Request, exc: Refused) -> Response:
    return PlainTextResponse(f"refused: {exc} ({request.method})", status_code=418)


REFUSALS = Refusals(kinds=(Refused,), answer=answer, unavailable=Refused("storage down"))
RAISES: dict[str, Exception] = {
    "/refused": Refused("no"),
    "/down": StoreUnavailable("disk gone"),
    "/bug": RuntimeError("a bug"),
}


async def handler(request: Request) -> Response:
    if request.url.path in RAISES:
        raise RAISES[request.url.path]
    return PlainTextResponse("ok")


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"] in RAISES:
        raise RAISES[scope["path"]]
    await respond_json(send, 200, b"{}")


@pytest.mark.parametrize("app_kind", ["starlette", "raw"])
async def test_refusals_and_storage_down_are_the_dialects_answers(app_kind: str) -> None:
    if app_kind == "starlette":
        app = Starlette(routes=[Route("/{path:path}", endpoint(handler, REFUSALS))])
        transport = httpx.ASGITransport(app=app)
    else:
        transport = httpx.ASGITransport(app=raw_endpoint(raw, REFUSALS))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = await client.get("/fine")
        assert ok.status_code == 200
        refused = await client.get("/refused")
        assert (refused.status_code, refused.text) == (418, "refused: no (GET)")
        down = await client.get("/down")
        assert (down.status_code, down.text) == (418, "refused: storage down (GET)")
        with pytest.raises(RuntimeError):  # not a refusal: left to the app's last defence
            await client.get("/bug")
