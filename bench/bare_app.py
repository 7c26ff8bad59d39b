"""The bound for a Python front: a bare Starlette + msgspec POST route of the native send's shape.

It decodes the same body, checks the same Bearer header and answers a JSON object of the same
size, but stores nothing. `uvicorn bench.bare_app:app --workers N` serves it. A bulk route of
the same kind (decode the native bulk body, answer one id per recipient) is the baseline of
bench/bulk_bench.py.
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


class Recipient(msgspec.Struct):
    to: str
    client_ref: str | None = None
    vars: dict[str, str] | None = None


class Bulk(msgspec.Struct):
    recipients: list[Recipient]
    text: str | None = None
    sender: str | None = msgspec.field(default=None, name="from")


_decode_bulk = msgspec.json.Decoder(Bulk).decode


async def bulk(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer bulk-token":
        return Response(b'{"error":"unauthorized"}', status_code=401)
    body = _decode_bulk(await request.body())
    # ids of the same size, made for nothing: uuid4() would add 2 µs a recipient to the bound
    ids = [f"00000000-0000-7000-8000-{i:012d}" for i in range(len(body.recipients))]
    out = {
        "job_id": None,
        "accepted": len(ids),
        "duplicates": 0,
        "rejected": [],
        "message_ids": ids,
    }
    return Response(msgspec.json.encode(out), status_code=202, media_type="application/json")


app = Starlette(
    routes=[
        Route("/api/v1/messages", send, methods=["POST"]),
        Route("/api/v1/messages/bulk", bulk, methods=["POST"]),
    ]
)
