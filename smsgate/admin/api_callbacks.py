"""Admin API: a message's callbacks and every attempt at delivering them (issue 20's "every
callback attempt with its URL host, answer or error, and the time it took").

`GET /admin/api/messages/{message_id}/callbacks`: the callbacks the outbox keeps for the
message's events (as the console's message page shows them) and each recorded attempt, both
in the order the callbacks were queued. URLs are never given, only their hosts: a callback
URL's path or query may hold the client's own secret."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.errors import ErrorCode, GatewayError
from ..store.base import AttemptRecord, CallbackRecord, ConsoleFilter
from .api_common import endpoint, json
from .context import context_of
from .pages_format import host_of, without_url

MAX_ID = 64  # characters: longer is no message id of ours (nor worth a query)


def callback_view(c: CallbackRecord) -> dict[str, Any]:
    return {
        "event_id": c.event_id,
        "dialect": c.dialect,
        "kind": c.kind,
        "host": host_of(c.url),
        "state": c.state,
        "attempts": c.attempts,
        "last_error": without_url(c.last_error, c.url) or None,
        "created_at": c.created_at,
        "next_at": c.next_at if c.state == "pending" else None,
        "done_at": c.done_at,
    }


def attempt_view(a: AttemptRecord) -> dict[str, Any]:
    return {
        "event_id": a.event_id,
        "dialect": a.dialect,
        "kind": a.kind,
        "attempt": a.attempt,
        "started_at": a.started_at,
        "host": a.host,
        "status": a.status,
        "error": a.error,
        "took_ms": a.took_ms,
        "outcome": a.outcome,
    }


@endpoint()
async def message_callbacks(request: Request) -> Response:
    message_id = request.path_params["message_id"]
    store = context_of(request).store
    found = (
        await store.console_messages(ConsoleFilter(message_id=message_id), limit=1)
        if len(message_id) <= MAX_ID
        else []
    )
    if not found:
        raise GatewayError(ErrorCode.NOT_FOUND, f"no message {message_id[:MAX_ID]!r}")
    message = found[0]
    callbacks = await store.console_callbacks(message.id)
    attempts = await store.callback_attempts(message.id)
    return json(
        {
            "message_id": message.id,
            "account_id": message.account_id,
            "callbacks": [callback_view(c) for c in callbacks],
            "attempts": [attempt_view(a) for a in attempts],
        }
    )


def routes() -> list[BaseRoute]:
    return [Route("/messages/{message_id}/callbacks", message_callbacks, methods=["GET"])]
