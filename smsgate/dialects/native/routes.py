"""The native JSON API: /api/v1/... with Bearer tokens, its OpenAPI document and docs page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account
from ...core.money import format_amount
from ...engine.gateway import Gateway
from ...store import rules
from ...store.base import MessageFilter
from .. import asgi
from ..asgi import FastRoutes
from ..endpoint import Refusals, endpoint, raw_endpoint
from ..http import DEFAULT_MAX_BODY, read_body, release_after
from . import parse
from .auth import DIALECT, account_for, authenticate
from .errors import error_response, status_for
from .openapi import document
from .render import (
    bulk_response,
    dump,
    events_out,
    iso,
    message_detail,
    message_out,
    refused_bulk,
)
from .schemas import (
    INCOMING_PAGE,
    LIST_DEFAULT,
    LIST_MAX,
    BalanceOut,
    BulkRequest,
    IncomingList,
    IncomingOut,
    JobOut,
    MessageList,
    SendersOut,
    SendRequest,
)

Handler = Callable[[Gateway, Request, Account], Awaitable[Response]]


def _answer(request: Request, exc: GatewayError) -> Response:
    return error_response(exc)


REFUSALS = Refusals(
    kinds=(GatewayError,),
    answer=_answer,
    unavailable=GatewayError(ErrorCode.UNAVAILABLE, "storage unavailable, retry later"),
)


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The route table, each handler bound to `gateway` (POST /api/v1/messages is a fast
    route: `fast_routes`), then the OpenAPI document and the docs page with its files."""
    table: list[tuple[str, Handler, str]] = [
        ("/api/v1/messages", list_messages, "GET"),
        ("/api/v1/messages/bulk", bulk, "POST"),
        ("/api/v1/messages/{message_id}", get_message, "GET"),
        ("/api/v1/messages/{message_id}", cancel, "DELETE"),
        ("/api/v1/messages/{message_id}/events", events, "GET"),
        ("/api/v1/jobs/{job_id}", job, "GET"),
        ("/api/v1/balance", balance, "GET"),
        ("/api/v1/senders", senders, "GET"),
        ("/api/v1/incoming", incoming, "GET"),
    ]
    out: list[BaseRoute] = [
        Route(path, endpoint(partial(serve, handler, gateway), REFUSALS), methods=[method])
        for path, handler, method in table
    ]
    return out + docs_routes(msgspec.json.encode(document(gateway.limits)))


def fast_routes(gateway: Gateway) -> FastRoutes:
    """POST /api/v1/messages, the route a load hits once per message, as a bare ASGI handler."""
    config = gateway.settings.get("config")
    run = raw_endpoint(
        partial(send_one, gateway, getattr(config, "max_body", DEFAULT_MAX_BODY)), REFUSALS
    )
    return {("POST", "/api/v1/messages"): run, ("POST", "/api/v1/messages/"): run}


async def serve(handler: Handler, gateway: Gateway, request: Request) -> Response:
    account = await authenticate(gateway, request)
    return await handler(gateway, request, account)


def _json(value: object, status: int = 200) -> Response:
    return Response(dump(value), status_code=status, media_type="application/json")


# Sending ------------------------------------------------------------------------------------
async def send_one(
    gateway: Gateway, max_body: int, scope: Scope, receive: Receive, send: Send
) -> None:
    """One message: 201 with it, or 200 with the message its client_ref already named.
    Answers last (see raw_endpoint)."""
    authorization = asgi.header(scope, b"authorization")
    account = await account_for(
        gateway, authorization.decode("latin-1") if authorization else "", asgi.client_ip(scope)
    )
    req: SendRequest = parse.decode(
        parse.send_decoder, await asgi.read_body(scope, receive, max_body)
    )
    outcomes, _ = await gateway.submit(account, DIALECT, [parse.one(req)])
    outcome = outcomes[0]
    if outcome.kind == "error":
        assert outcome.error is not None
        raise outcome.error
    assert outcome.message is not None
    status = 201 if outcome.kind == "new" else 200
    await asgi.respond_json(send, status, dump(message_out(outcome.message)), scope)


async def bulk(gateway: Gateway, request: Request, account: Account) -> Response:
    """Many recipients as one job: 202 with each one's fate, 422 when none is taken; a request
    refused as a whole (rules.whole_refusal) is one error: 402 for the balance, 422 atomic."""
    req: BulkRequest = parse.decode(parse.bulk_decoder, await read_body(request))
    items = parse.many(req)
    outcomes, job = await gateway.submit(
        account, DIALECT, items, job=True, job_ref=req.client_ref, atomic=req.atomic
    )
    whole = rules.whole_refusal(outcomes)
    if whole is not None:  # one error, not one per recipient (50,000 of them: 4.2 MB)
        status = status_for(whole.code) if whole.code is ErrorCode.INSUFFICIENT_BALANCE else 422
        refused = _json(refused_bulk(whole, outcomes), status)
        return release_after(refused, req, items, outcomes)
    body = bulk_response(job.id if job else None, outcomes)
    status = 202 if body.accepted or body.duplicates else 422
    return release_after(_json(body, status), req, items, outcomes)


async def cancel(gateway: Gateway, request: Request, account: Account) -> Response:
    message = await gateway.cancel(account, request.path_params["message_id"])
    return _json(message_out(message))


# Reads --------------------------------------------------------------------------------------
async def get_message(gateway: Gateway, request: Request, account: Account) -> Response:
    message_id = request.path_params["message_id"]
    message = await gateway.get_message(account, message_id)
    if message is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
    history = await gateway.events_of(account, message_id)
    callbacks = await gateway.callbacks_of(account, message_id)
    return _json(message_detail(message, history, callbacks))


async def events(gateway: Gateway, request: Request, account: Account) -> Response:
    message_id = request.path_params["message_id"]
    if await gateway.get_message(account, message_id) is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
    history = await gateway.events_of(account, message_id)
    callbacks = await gateway.callbacks_of(account, message_id)
    return _json(events_out(history, callbacks))


async def list_messages(gateway: Gateway, request: Request, account: Account) -> Response:
    q = request.query_params
    try:
        limit = min(max(int(q.get("limit", LIST_DEFAULT)), 1), LIST_MAX)
        after = int(q.get("cursor", "0") or 0)
    except ValueError:
        raise GatewayError(ErrorCode.INVALID_FIELD, "limit and cursor must be integers") from None
    flt = MessageFilter(
        status=q.get("status"),
        phone=q.get("to", "").lstrip("+") or None,
        job_id=q.get("job_id"),
        since=parse.parse_time(q.get("since"), "since"),
        until=parse.parse_time(q.get("until"), "until"),
    )
    found = await gateway.list_messages(account, flt, after_seq=after, limit=limit)
    cursor = str(found[-1].seq) if len(found) == limit else None
    return _json(MessageList(messages=[message_out(m) for m in found], next_cursor=cursor))


async def job(gateway: Gateway, request: Request, account: Account) -> Response:
    counts = await gateway.get_job(account, request.path_params["job_id"])
    if counts is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "job not found")
    return _json(
        JobOut(
            id=counts.job.id,
            client_ref=counts.job.client_ref,
            total=counts.job.total,
            created_at=iso(counts.job.created_at),
            by_status=counts.by_status,
        )
    )


async def balance(gateway: Gateway, request: Request, account: Account) -> Response:
    amount = await gateway.balance(account)
    return _json(
        BalanceOut(
            balance=format_amount(amount, 4),
            currency=account.currency,
            price_per_segment=format_amount(account.price, 4),
        )
    )


async def senders(gateway: Gateway, request: Request, account: Account) -> Response:
    return _json(SendersOut(senders=account.senders))


async def incoming(gateway: Gateway, request: Request, account: Account) -> Response:
    try:
        after = int(request.query_params.get("cursor", "0") or 0)
    except ValueError:
        raise GatewayError(ErrorCode.INVALID_FIELD, "cursor must be an integer") from None
    found = await gateway.list_mo(account, after_seq=after, limit=INCOMING_PAGE)
    return _json(
        IncomingList(
            messages=[
                IncomingOut(
                    id=m.id,
                    sender="+" + m.phone,
                    to=m.to,
                    text=m.text,
                    received_at=iso(m.received_at),
                )
                for m in found
            ],
            next_cursor=str(found[-1].seq) if len(found) == INCOMING_PAGE else None,
        )
    )


# The API's description ----------------------------------------------------------------------
HERE = Path(__file__).parent
# The docs page may load only this server's files; Swagger UI styles elements inline and shows
# its icons as data: URLs.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def docs_routes(spec: bytes) -> list[BaseRoute]:
    """/openapi.json, /docs (Swagger UI, its files from the swagger-ui-bundle package under
    /docs/static: no CDN) and the page's own initialiser."""
    page = (HERE / "docs.html").read_bytes()
    init = (HERE / "swagger-init.js").read_bytes()
    return [
        Route("/openapi.json", partial(_static, spec, "application/json"), methods=["GET"]),
        Route("/docs", partial(_static, page, "text/html; charset=utf-8"), methods=["GET"]),
        Route(
            "/docs/swagger-init.js",
            partial(_static, init, "text/javascript; charset=utf-8"),
            methods=["GET"],
        ),
        Mount("/docs/static", SwaggerFiles(directory=str(swagger_ui_path)), name="swagger-ui"),
    ]


class SwaggerFiles(StaticFiles):
    """Only the files the docs page loads: the package also holds Swagger UI's demo page,
    which loads its example document from the internet."""

    SERVED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        return path if path in self.SERVED else "not-served"


async def _static(body: bytes, media_type: str, request: Request) -> Response:
    headers = {"Content-Security-Policy": DOCS_POLICY, "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=media_type, headers=headers)
