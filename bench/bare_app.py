"""The bound for a Python front: a bare Starlette + msgspec POST route of the native send's shape.

It decodes the same body, checks the same Bearer header and answers a JSON object of the same
size, but stores nothing. `uvicorn bench.bare_app:app --workers N` serves it.
"""

from __future__ import annotations

import time
import uuid

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Send(msgspec.Struct):
    to: str
    text: str
    sender: str | None = msgspec.field(default=None, name="from")


_decode = msgspec.json.Decoder(Send).decode


async def send(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer bench-token":
        return Response(b'{"error":"unauthorized"}', status_code=401)
    body = _decode(await request.body())
    now = time.time()
    out = {
        "id": str(uuid.uuid4()),
        "to": body.to,
        "from": body.sender,
        "text": body.text,
        "status": "queued",
        "segments": 1,
        "created_at": now,
        "updated_at": now,
    }
    return Response(msgspec.json.encode(out), status_code=201, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/messages", send, methods=["POST"])])
