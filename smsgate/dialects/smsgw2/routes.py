"""SMSGW2 REST v2 under /app/smsgw/rest/v2: messages, batches, senders, users' client messages."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Submission
from ...core.validate import build_message
from ...engine.gateway import Gateway
from ...store.base import Outcome, StoreUnavailable
from ..http import basic_credentials, client_ip, ip_allowed, media_type, params, read_body
from .errors import Smsgw2Error, coded, error_response, from_gateway
from .fields import DIALECT, submission
from .schemas import message_out

BASE = "/app/smsgw/rest/v2"
SINGLE_BODY_LIMIT = 64 * 1024  # one message: far above any real one, far below a flood
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_BOM = b"\xef\xbb\xbf"
_TRUE = {"true", "1", "yes", "y"}

Handler = Callable[[Request, Account, str], Awaitable[Response]]


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(value),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUE


async def body_object(request: Request, limit: int | None) -> Any:
    """The JSON body (whatever the Content-Type says), or a urlencoded form as a dict."""
    body = await read_body(request, limit)
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    stripped = body.strip()
    if media_type(request) == "application/x-www-form-urlencoded" and not stripped.startswith(
        (b"{", b"[")
    ):
        return await params(request, body)
    if not stripped:
        raise Smsgw2Error("Request body is empty")
    try:
        return msgspec.json.decode(stripped)
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    try:  # a client that sent its JSON in Windows-1251
        return msgspec.json.decode(stripped.decode("cp1251").encode())
    except (UnicodeDecodeError, msgspec.DecodeError):
        raise Smsgw2Error("Malformed JSON in request body") from None


def location(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + BASE + path


def numeric_id(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def with_index(exc: Smsgw2Error, index: int) -> Smsgw2Error:
    exc.extra = {**exc.extra, "message_index": index}
    return exc


def routes(gateway: Gateway) -> list[BaseRoute]:
    async def authenticate(request: Request) -> tuple[Account, str]:
        credentials = basic_credentials(request)
        account = (
            await gateway.login(DIALECT, "basic", credentials[0], credentials[1])
            if credentials
            else None
        )
        if account is None or credentials is None:
            raise Smsgw2Error("Bad credentials", status=401)
        if not ip_allowed(account.ip_allowlist, client_ip(request)):
            raise Smsgw2Error("Access denied for this IP address", status=403)
        return account, credentials[0]

    def resource(handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
        allowed = ", ".join(sorted(handlers))

        async def run(request: Request) -> Response:
            try:
                handler = handlers.get(request.method)
                if handler is None:
                    refused = error_response(Smsgw2Error("Method not allowed", status=405))
                    refused.headers["Allow"] = allowed
                    return refused
                account, user = await authenticate(request)
                return await handler(request, account, user)
            except Smsgw2Error as exc:
                return error_response(exc)
            except GatewayError as exc:
                return error_response(from_gateway(exc))
            except StoreUnavailable:
                return error_response(
                    Smsgw2Error("Service temporarily unavailable, retry later", status=503)
                )

        return run

    async def own_message(account: Account, raw_id: str) -> Message:
        """The caller's SMSGW2 message by its numeric id: else 403 (another's) or 404."""
        seq = numeric_id(raw_id)
        message = await gateway.message_by_seq(account, seq) if seq else None
        if message is None or message.dialect != DIALECT:
            if message is None and seq and await gateway.owned_by_other(account, seq):
                raise Smsgw2Error("Access to the message is denied", status=403)
            raise Smsgw2Error("Message not found", status=404)
        return message

    async def batch_of(account: Account, message: Message) -> int | None:
        if message.job_id is None:
            return None
        first = await gateway.job_messages(account, message.job_id, limit=1)
        return first[0].seq if first else None

    def informed(account: Account, message: Message) -> bool:
        return bool(message.callback_url or account.callback_urls.get(DIALECT))

    def segments_info(request: Request) -> bool:
        return flag(request.query_params.get("segments_info", ""))

    async def describe(request: Request, account: Account, message: Message) -> Response:
        return json_response(
            message_out(
                message,
                account,
                batch_id=await batch_of(account, message),
                informed=informed(account, message),
                segments=segments_info(request),
            )
        )

    # /messages ------------------------------------------------------------------------------
    async def send(request: Request, account: Account, user: str) -> Response:
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

    async def get_message(request: Request, account: Account, user: str) -> Response:
        message = await own_message(account, request.path_params["message_id"])
        return await describe(request, account, message)

    async def delete_message(request: Request, account: Account, user: str) -> Response:
        message = await own_message(account, request.path_params["message_id"])
        try:
            await gateway.cancel(account, message.id)
        except GatewayError as exc:
            if exc.code is ErrorCode.NOT_CANCELLABLE:
                raise coded(17) from None
            raise
        return Response(status_code=204)

    # /batches -------------------------------------------------------------------------------
    async def send_batch(request: Request, account: Account, user: str) -> Response:
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
        if fail_fast:
            items = await _checked_batch(account, raw, now)
            positions = list(range(len(items)))
        else:
            # Without fail-fast a bad recipient, text or alias is stored and reported in a
            # delivery report; a message that cannot even be read refuses the batch.
            items = []
            for i, obj in enumerate(raw):
                try:
                    items.append(submission(obj, account, now=now, with_sender_check=False))
                except Smsgw2Error as exc:
                    raise with_index(exc, i) from None
            positions = list(range(len(items)))
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
            raise _batch_refusal(outcomes, items, positions)
        batch_id = min(stored)
        return json_response(
            {"batch_id": str(batch_id)},
            201,
            {"Location": location(request, f"/batches/{batch_id}")},
        )

    async def _checked_batch(account: Account, raw: list[Any], now: float) -> list[Submission]:
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

    async def get_batch(request: Request, account: Account, user: str) -> Response:
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

    # /senders, /users -------------------------------------------------------------------------
    async def senders(request: Request, account: Account, user: str) -> Response:
        return json_response(sorted(account.senders))

    async def client_message(request: Request, account: Account, user: str) -> Response:
        if request.path_params["user_name"] != user:
            raise Smsgw2Error("Access to the user's messages is denied", status=403)
        ref = request.path_params["client_message_id"].strip()
        message = await gateway.message_by_ref(account, DIALECT, ref)
        if message is None:
            raise Smsgw2Error("Message not found", status=404)
        return await describe(request, account, message)

    async def unknown(request: Request) -> Response:
        return error_response(Smsgw2Error("Resource not found", status=404))

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
        endpoint = resource(handlers)
        for variant in (path, path + "/"):  # clients build URLs with and without the slash
            out.append(Route(BASE + variant, endpoint, methods=ALL_METHODS))
    out.append(Route(BASE + "/{rest:path}", unknown, methods=ALL_METHODS))
    return out


def _accepted(outcome: Outcome, item: Submission) -> Message:
    if outcome.kind == "duplicate":
        raise coded(23)
    if outcome.kind == "error" or outcome.message is None:
        assert outcome.error is not None
        raise from_gateway(outcome.error, item.sender)
    return outcome.message


def _batch_refusal(
    outcomes: list[Outcome], items: list[Submission], positions: list[int]
) -> Smsgw2Error:
    """Why nothing of a batch was stored: the first real error, with its message's index."""
    for i, outcome in enumerate(outcomes):
        if outcome.kind == "duplicate":
            return with_index(coded(23), positions[i] if i < len(positions) else i)
        error = outcome.error
        if error is None or (
            error.code is ErrorCode.BAD_REQUEST and error.detail == "batch refused"
        ):
            continue
        if error.code is ErrorCode.INSUFFICIENT_BALANCE:
            return from_gateway(error)
        sender = items[i].sender if i < len(items) else None
        return with_index(from_gateway(error, sender), positions[i] if i < len(positions) else i)
    return Smsgw2Error("Batch refused")
