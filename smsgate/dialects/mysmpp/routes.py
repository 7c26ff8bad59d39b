"""HTTP endpoints: /json (and /json/state.php, /json/balance.php) and their /xml counterparts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account
from ...engine.gateway import Gateway
from ...store.base import StoreUnavailable
from ..http import media_type, params, read_body
from . import reads, schemas, xmlio
from .auth import authenticate, no_post_data
from .errors import UNAVAILABLE, MysmppError, format_error
from .model import Parsed
from .sending import Entry, send

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

Action = Callable[[Parsed, Account], Awaitable[Response]]


def json_response(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type=JSON_TYPE)


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=XML_TYPE)


def error_response(text: str, status: int, xml: bool) -> Response:
    if xml:
        return xml_response(xmlio.error_document(text), status)
    return json_response({"error": text}, status)


def _looks_like_form(request: Request, body: bytes) -> bool:
    kind = media_type(request)
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return not body.lstrip().startswith((b"{", b"["))
    return False


async def parse_json(request: Request, body: bytes) -> Parsed:
    if not body.strip():
        if "login" in request.query_params or "token" in request.query_params:
            return schemas.from_params(dict(request.query_params))
        raise no_post_data()
    if _looks_like_form(request, body):
        try:
            values = await params(request, body)
        except Exception:  # a broken multipart body is the client's malformed document
            raise format_error(xml=False) from None
        return schemas.from_params(values)
    try:
        return schemas.parse(body)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        raise format_error(xml=False) from None


def parse_xml(body: bytes) -> Parsed:
    if not body.strip():
        raise no_post_data()
    try:
        return xmlio.parse(body)
    except xmlio.XmlFormatError:
        raise format_error(xml=True) from None


def _send_json(entries: list[Entry]) -> Response:
    information = [
        {"error": e.error} if e.error is not None else {"state": "send", "id_sms": e.id_sms}
        for e in entries
    ]
    return json_response({"information": information})


def _send_xml(entries: list[Entry]) -> Response:
    children = [
        xmlio.element("information", {"number_sms": e.number_sms}, e.error)
        if e.error is not None
        else xmlio.element(
            "information",
            {"number_sms": e.number_sms, "id_sms": e.id_sms, "parts": e.parts},
            "send",
        )
        for e in entries
    ]
    return xml_response(xmlio.document(children))


def routes(gateway: Gateway) -> list[BaseRoute]:
    def endpoint(action: Action, xml: bool) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                try:
                    body = await read_body(request)
                except GatewayError as exc:
                    status = 413 if exc.code is ErrorCode.BODY_TOO_LARGE else 400
                    raise MysmppError(format_error(xml).text, status) from None
                parsed = parse_xml(body) if xml else await parse_json(request, body)
                account = await authenticate(gateway, request, parsed.credentials)
                return await action(parsed, account)
            except MysmppError as exc:
                return error_response(exc.text, exc.status, xml)
            except GatewayError:
                return error_response(format_error(xml).text, 400, xml)
            except StoreUnavailable:
                return error_response(UNAVAILABLE, 503, xml)

        return run

    def sender(xml: bool) -> Action:
        async def action(parsed: Parsed, account: Account) -> Response:
            assert parsed.batches is not None
            entries = await send(gateway, account, parsed.batches, xml)
            return _send_xml(entries) if xml else _send_json(entries)

        return action

    def state(xml: bool) -> Action:
        async def action(parsed: Parsed, account: Account) -> Response:
            ids = parsed.id_sms
            if not ids or len(ids) > reads.MAX_IDS:
                raise format_error(xml)
            rows = await reads.lookup(gateway, account, ids)
            if xml:
                return xml_response(reads.state_xml(rows, account))
            return json_response(reads.state_json(rows, account, parsed.detail))

        return action

    def balance(xml: bool) -> Action:
        async def action(parsed: Parsed, account: Account) -> Response:
            amount = await gateway.balance(account)
            if xml:
                return xml_response(reads.balance_xml(amount, account))
            return json_response(reads.balance_json(amount, account))

        return action

    def by_body(xml: bool) -> Action:
        """The bare path: the body says what it is (message: send; id_sms: status; else balance)."""
        send_, state_, balance_ = sender(xml), state(xml), balance(xml)

        async def action(parsed: Parsed, account: Account) -> Response:
            if parsed.batches is not None:
                return await send_(parsed, account)
            if parsed.id_sms is not None:
                return await state_(parsed, account)
            return await balance_(parsed, account)

        return action

    table: list[tuple[str, Action, bool]] = [
        ("/json", by_body(False), False),
        ("/json/state.php", state(False), False),
        ("/json/balance.php", balance(False), False),
        ("/xml", by_body(True), True),
        ("/xml/index.php", by_body(True), True),
        ("/xml/state.php", state(True), True),
        ("/xml/balance.php", balance(True), True),
    ]
    out: list[BaseRoute] = []
    for path, action, xml in table:
        handler = endpoint(action, xml)
        for variant in (path, path + "/"):
            out.append(Route(variant, handler, methods=["GET", "POST"]))
    return out
