"""SMSGW2 REST v2 under /app/smsgw/rest/v2: messages, batches, senders, users' client messages."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Refused, Submission
from ...core.validate import build_message
from ...engine.gateway import Gateway
from ...store.base import Outcome
from ..endpoint import Refusals, endpoint
from ..http import EVERY_METHOD, Namespace
from .auth import DIALECT, authenticate
from .errors import Smsgw2Error, coded, error_response, from_gateway, with_index
from .parse import SINGLE_BODY_LIMIT, batch_items, body_object, flag, numeric_id, submission
from .render import message_out

PREFIX = "/app/smsgw"  # the service's: any other version or path under it is answered here
BASE = PREFIX + "/rest/v2"

Handler = Callable[[Gateway, Request, Account, str], Awaitable[Response]]


def _answer(request: Request, exc: Smsgw2Error | GatewayError) -> Response:
    return error_response(exc if isinstance(exc, Smsgw2Error) else from_gateway(exc))


REFUSALS: Refusals[Smsgw2Error | GatewayError] = Refusals(
    kinds=(Smsgw2Error, GatewayError),
    answer=_answer,
    unavailable=Smsgw2Error("Service temporarily unavailable, retry later", status=503),
)


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The route table, each resource's handlers bound to `gateway`; every path also with a
    trailing slash (clients build URLs both ways), every usual method (`serve` refuses those a
    resource does not take), and anything else under /app/smsgw answered 404."""
    table: list[tuple[str, dict[str, Handler]]] = [
        ("/messages", {"POST": send}),
        ("/messages/{message_id}", {"GET": get_message, "DELETE": delete_message}),
        ("/batches", {"POST": send_batch}),
        ("/batches/{batch_id}", {"GET": get_batch}),
        ("/senders", {"GET": senders}),
        ("/users/{user_name}/client_messages/{client_message_id}", {"GET": client_message}),
    ]
    out: list[BaseRoute] = []
    for path, handlers in table:
        run = endpoint(partial(serve, handlers, gateway), REFUSALS)
        for variant in (path, path + "/"):
            out.append(Route(BASE + variant, run, methods=EVERY_METHOD))
    out.append(Namespace(PREFIX, endpoint(unknown, REFUSALS)))
    return out


async def serve(handlers: Mapping[str, Handler], gateway: Gateway, request: Request) -> Response:
    """A method the resource does not take is refused before authentication (with Allow);
    otherwise its handler runs for the authenticated account and Basic user."""
    handler = handlers.get(request.method)
    if handler is None:
        refused = error_response(Smsgw2Error("Method not allowed", status=405))
        refused.headers["Allow"] = ", ".join(sorted(handlers))
        return refused
    account, user = await authenticate(gateway, request)
    return await handler(gateway, request, account, user)


async def unknown(request: Request) -> Response:
    raise Smsgw2Error("Resource not found", status=404)


# /messages ----------------------------------------------------------------------------------
async def send(gateway: Gateway, request: Request, account: Account, user: str) -> Response:
    raw = await body_object(request, SINGLE_BODY_LIMIT)
    now = time.time()  # one clock for the defaults (expire_date) and init_time
    item = submission(raw, account, now=now)
    outcomes, _ = await gateway.submit(account, DIALECT, [item], trunk_8_to_7=True, now=now)
    message = _accepted(outcomes[0], item)
    return json_response(
        {"message_id": str(message.seq)},
        201,
        {"Location": location(request, f"/messages/{message.seq}")},
    )


async def get_message(gateway: Gateway, request: Request, account: Account, user: str) -> Response:
    message = await own_message(gateway, account, request.path_params["message_id"])
    return await describe(gateway, request, account, message)


async def delete_message(
    gateway: Gateway, request: Request, account: Account, user: str
) -> Response:
    message = await own_message(gateway, account, request.path_params["message_id"])
    try:
        await gateway.cancel(account, message.id)
    except GatewayError as exc:
        if exc.code is ErrorCode.NOT_CANCELLABLE:
            raise coded(17) from None
        raise
    return Response(status_code=204)


# /batches -----------------------------------------------------------------------------------
async def send_batch(gateway: Gateway, request: Request, account: Account, user: str) -> Response:
    raw = await body_object(request, None)
    fail_fast = False
    if isinstance(raw, dict):
        fail_fast = flag(raw.get("fail-fast", raw.get("fail_fast", False)))
        raw = raw.get("messages")
    if not isinstance(raw, list) or not raw:
        raise Smsgw2Error("Field messages is required and must be a non-empty array")
    if len(raw) > gateway.limits.max_recipients:
        raise coded(51)
    now = time.time()
    # Without fail-fast every message is stored, a refused one as failed: the client learns
    # of each from its delivery report (the seed: "весь батч принимается").
    items: Sequence[Submission | Refused] = (
        await _checked_batch(gateway, account, raw, now)
        if fail_fast
        else batch_items(raw, account, now)
    )
    outcomes, _ = await gateway.submit(
        account,
        DIALECT,
        items,
        job=True,
        atomic=fail_fast,
        keep_rejected=not fail_fast,
        trunk_8_to_7=True,
        now=now,
    )
    stored = [
        o.message.seq
        for o in outcomes
        if o.message is not None and o.kind != "duplicate" and o.message.seq
    ]
    if not stored:
        raise _batch_refusal(outcomes, items)
    batch_id = min(stored)
    return json_response(
        {"batch_id": str(batch_id)},
        201,
        {"Location": location(request, f"/batches/{batch_id}")},
    )


async def _checked_batch(
    gateway: Gateway, account: Account, raw: list[Any], now: float
) -> list[Submission]:
    """fail-fast: every message checked before anything is stored; the first bad one wins."""
    items: list[Submission] = []
    seen: set[str] = set()
    for i, obj in enumerate(raw):
        try:
            item = submission(obj, account, now=now)
            build_message(account, DIALECT, item, now, gateway.limits, trunk_8_to_7=True)
        except Smsgw2Error as exc:
            raise with_index(exc, i) from None
        except GatewayError as exc:
            sender = obj.get("sender") if isinstance(obj, dict) else None
            raise with_index(from_gateway(exc, sender), i) from None
        if item.client_ref in seen or (
            item.client_ref is not None
            and await gateway.message_by_ref(account, DIALECT, item.client_ref)
        ):
            raise with_index(coded(23), i)
        seen.add(item.client_ref or "")
        items.append(item)
    return items


async def get_batch(gateway: Gateway, request: Request, account: Account, user: str) -> Response:
    seq = numeric_id(request.path_params["batch_id"])
    first = await gateway.message_by_seq(account, seq) if seq else None
    if first is None or first.job_id is None or first.dialect != DIALECT:
        if first is None and seq and await gateway.owned_by_other(account, seq):
            raise Smsgw2Error("Access to the batch is denied", status=403)
        raise Smsgw2Error("Batch not found", status=404)
    found: list[Message] = []
    while True:
        after = found[-1].seq if found else 0
        page = await gateway.job_messages(account, first.job_id, after_seq=after, limit=5000)
        found += page
        if len(page) < 5000:
            break
    if not found or found[0].seq != seq:
        raise Smsgw2Error("Batch not found", status=404)
    return json_response(
        [message_out(m, account, batch_id=seq, informed=informed(account, m)) for m in found]
    )


# /senders, /users -----------------------------------------------------------------------------
async def senders(gateway: Gateway, request: Request, account: Account, user: str) -> Response:
    return json_response(sorted(account.senders))


async def client_message(
    gateway: Gateway, request: Request, account: Account, user: str
) -> Response:
    if request.path_params["user_name"] != user:
        raise Smsgw2Error("Access to the user's messages is denied", status=403)
    ref = request.path_params["client_message_id"].strip()
    message = await gateway.message_by_ref(account, DIALECT, ref)
    if message is None:
        raise Smsgw2Error("Message not found", status=404)
    return await describe(gateway, request, account, message)


# Reading one message --------------------------------------------------------------------------
async def own_message(gateway: Gateway, account: Account, raw_id: str) -> Message:
    """The caller's SMSGW2 message by its numeric id: else 403 (another's) or 404."""
    seq = numeric_id(raw_id)
    message = await gateway.message_by_seq(account, seq) if seq else None
    if message is None or message.dialect != DIALECT:
        if message is None and seq and await gateway.owned_by_other(account, seq):
            raise Smsgw2Error("Access to the message is denied", status=403)
        raise Smsgw2Error("Message not found", status=404)
    return message


async def describe(
    gateway: Gateway, request: Request, account: Account, message: Message
) -> Response:
    """The message object, with `segments` when the query asks (`segments_info`)."""
    return json_response(
        message_out(
            message,
            account,
            batch_id=await batch_of(gateway, account, message),
            informed=informed(account, message),
            segments=flag(request.query_params.get("segments_info", "")),
        )
    )


async def batch_of(gateway: Gateway, account: Account, message: Message) -> int | None:
    if message.job_id is None:
        return None
    first = await gateway.job_messages(account, message.job_id, limit=1)
    return first[0].seq if first else None


def informed(account: Account, message: Message) -> bool:
    return bool(message.callback_url or account.callback_urls.get(DIALECT))


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(value),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def location(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + BASE + path


def _accepted(outcome: Outcome, item: Submission) -> Message:
    if outcome.kind == "duplicate":
        raise coded(23)
    if outcome.kind == "error" or outcome.message is None:
        assert outcome.error is not None
        raise from_gateway(outcome.error, item.sender)
    return outcome.message


def _batch_refusal(outcomes: list[Outcome], items: Sequence[Submission | Refused]) -> Smsgw2Error:
    """Why nothing of a batch was stored: a short balance, else the first real error, with its
    message's index."""
    for outcome in outcomes:
        if outcome.error is not None and outcome.error.code is ErrorCode.INSUFFICIENT_BALANCE:
            return from_gateway(outcome.error)
    for i, outcome in enumerate(outcomes):
        if outcome.kind == "duplicate":
            return with_index(coded(23), i)
        error = outcome.error
        if error is None or (
            error.code is ErrorCode.BAD_REQUEST and error.detail == "batch refused"
        ):
            continue
        item = items[i]
        sender = item.sender if isinstance(item, Submission) else None
        return with_index(from_gateway(error, sender), i)
    return Smsgw2Error("Batch refused")
