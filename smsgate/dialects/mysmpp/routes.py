"""HTTP endpoints: /json (and /json/state.php, /json/balance.php) and their /xml counterparts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Submission
from ...engine.gateway import Gateway
from ..endpoint import Refusals, endpoint
from ..http import read_body
from . import render
from .auth import DIALECT, authenticate
from .errors import UNAVAILABLE, MysmppError, PhoneError, format_error, per_phone_text
from .parse import parse_json, parse_xml, phone_error, submission
from .schemas import Batch, Entry, Parsed, StateRow

MAX_IDS = 1000  # id_sms per status request

Action = Callable[[Gateway, Parsed, Account, bool], Awaitable[Response]]


def _answer(xml: bool, request: Request, exc: MysmppError | GatewayError) -> Response:
    """A whole-request error; a canonical one is the document-format error (400)."""
    if isinstance(exc, MysmppError):
        return render.error_response(exc.text, exc.status, xml)
    return render.error_response(format_error(xml).text, 400, xml)


def refusals(xml: bool) -> Refusals[MysmppError | GatewayError]:
    """Storage down is 503 'Service temporarily unavailable' (not in the provider's list)."""
    return Refusals(
        kinds=(MysmppError, GatewayError),
        answer=partial(_answer, xml),
        unavailable=MysmppError(UNAVAILABLE, 503),
    )


JSON_REFUSALS, XML_REFUSALS = refusals(False), refusals(True)


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The route table, each action bound to `gateway`; every path also with a trailing slash."""
    table: list[tuple[str, Action, bool]] = [
        ("/json", by_body, False),
        ("/json/state.php", state, False),
        ("/json/balance.php", balance, False),
        ("/xml", by_body, True),
        ("/xml/index.php", by_body, True),
        ("/xml/state.php", state, True),
        ("/xml/balance.php", balance, True),
    ]
    out: list[BaseRoute] = []
    for path, action, xml in table:
        run = endpoint(partial(serve, action, xml, gateway), XML_REFUSALS if xml else JSON_REFUSALS)
        for variant in (path, path + "/"):
            out.append(Route(variant, run, methods=["GET", "POST"]))
    return out


async def serve(action: Action, xml: bool, gateway: Gateway, request: Request) -> Response:
    """The request read in its syntax, the caller authenticated from it, then the action."""
    try:
        body = await read_body(request)
    except GatewayError as exc:
        status = 413 if exc.code is ErrorCode.BODY_TOO_LARGE else 400
        raise MysmppError(format_error(xml).text, status) from None
    parsed = parse_xml(body) if xml else await parse_json(request, body)
    account = await authenticate(gateway, request, parsed.credentials)
    return await action(gateway, parsed, account, xml)


async def by_body(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """The bare path: the body says what it is (message: send; id_sms: status; else balance)."""
    if parsed.batches is not None:
        return await send(gateway, parsed, account, xml)
    if parsed.id_sms is not None:
        return await state(gateway, parsed, account, xml)
    return await balance(gateway, parsed, account, xml)


async def send(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    assert parsed.batches is not None
    entries = await _send(gateway, account, parsed.batches, xml)
    return render.sent_xml(entries) if xml else render.sent_json(entries)


async def state(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    ids = parsed.id_sms
    if not ids or len(ids) > MAX_IDS:
        raise format_error(xml)
    rows = await _lookup(gateway, account, ids)
    if xml:
        return render.xml_response(render.state_xml(rows, account))
    return render.json_response(render.state_json(rows, account, parsed.detail))


async def balance(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    amount = await gateway.balance(account)
    if xml:
        return render.xml_response(render.balance_xml(amount, account))
    return render.json_response(render.balance_json(amount, account))


async def _send(gateway: Gateway, account: Account, batches: list[Batch], xml: bool) -> list[Entry]:
    """One Entry per phone, in request order: the phones refused before submission keep the
    provider's text, the others go to the core in one request."""
    now = time.time()
    entries: list[Entry] = []
    items: list[Submission] = []
    positions: list[int] = []
    for batch in batches:
        for r in batch.recipients:
            entry = Entry(number_sms=r.number_sms)
            if entry.number_sms is None and xml:
                entry.number_sms = str(len(entries) + 1)
            entry.error = phone_error(batch, r)
            if entry.error is None:
                try:
                    items.append(submission(batch, r, account, gateway, now, xml))
                except PhoneError as exc:
                    entry.error = exc.text
                else:
                    positions.append(len(entries))
            entries.append(entry)
    if not entries or len(entries) > gateway.limits.max_recipients:
        raise format_error(xml)
    if items:
        outcomes, _ = await gateway.submit(account, DIALECT, items, trunk_8_to_7=True)
        for pos, outcome in zip(positions, outcomes, strict=True):
            entry = entries[pos]
            if outcome.kind == "error" or outcome.message is None:
                error = outcome.error or GatewayError(ErrorCode.SYSTEM_ERROR)
                entry.error = per_phone_text(error, xml)
            else:
                entry.id_sms = outcome.message.seq
                entry.parts = outcome.message.segments
    return entries


async def _lookup(gateway: Gateway, account: Account, ids: list[str | int]) -> list[StateRow]:
    """Each requested id in order; only this account's messages are ever found."""
    rows = []
    for raw in ids:
        seq = _number(raw)
        found = await gateway.message_by_seq(account, seq) if seq else None
        if found is not None and found.dialect != DIALECT:
            found = None
        rows.append(StateRow(seq if seq is not None else raw, found))
    return rows


def _number(value: str | int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None
